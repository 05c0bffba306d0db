/** The `isokit` command: thin over sdf (check) and the kernel (run). */

import { Command, InvalidArgumentError } from "commander";
import { checkCommand } from "./check.ts";
import { runCommand, type Io } from "./run.ts";

const io: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  interactive: process.stdout.isTTY,
};

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive whole number of milliseconds");
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name("isokit")
    .description(
      "Check and run seL4 Microkit system descriptions (.system files) with JavaScript/TypeScript programs as the " +
        "protection domain images: one worker thread per PD, channels and protected calls over shared memory.",
    )
    .showHelpAfterError();

  program
    .command("check")
    .description("check .system files against Microkit's rules; print a summary of each, or its errors as file:line:col")
    .argument("<file...>", ".system files")
    .action((files: string[]) => {
      exitCode = checkCommand(files, io);
    });

  program
    .command("run")
    .description(
      'boot a .system file and stream PD output. program_image path="x.elf" runs x.ts, x.mts, x.js or x.mjs ' +
        "beside the file. Stops when every PD waits with nothing pending, on --timeout, or on Ctrl-C; " +
        "exits 1 if a PD died unhandled.",
    )
    .argument("<file>", ".system file")
    .option("--image <name=path>", "run PD <name> from <path> instead (repeatable)", collect, [])
    .option("--timeout <ms>", "stop after this many milliseconds", milliseconds)
    .option("--keep-running", "do not stop when the system is idle (stop on Ctrl-C or --timeout)", false)
    .option("--in-process", "run every PD in this thread (no isolation; for debugging)", false)
    .action(async (file: string, options: { image: string[]; timeout?: number; keepRunning: boolean; inProcess: boolean }) => {
      exitCode = await runCommand(file, options, io);
    });

  return program.parseAsync(argv, { from: "user" }).then(() => exitCode);
}

process.exitCode = await main(process.argv.slice(2));
