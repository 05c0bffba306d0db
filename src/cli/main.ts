/**
 * The `isokit` command: the command line only. Each command's module (and through it the parser or the
 * kernel) is imported when that command runs, so `--help` and `--version` load nothing but commander.
 *
 * A usage error is one line saying what is wrong and one hint, on stderr, exit 2 (never the whole help).
 */

import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { ExitCode, messageOf, stdio, type Io } from "./io.ts";
import type { RestartPolicy } from "../kernel/supervisor.ts";

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const value: unknown = typeof manifest === "object" && manifest !== null ? Reflect.get(manifest, "version") : undefined;
  return typeof value === "string" ? value : "unknown";
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive whole number of milliseconds");
  return n;
}

/** The dashboard's port when `--dashboard` names none. */
const DEFAULT_DASHBOARD_PORT = 7357;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number, 0..65535");
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function usageError(io: Io, message: string, hint = "Try 'isokit --help'."): number {
  io.err(`isokit: ${message}`);
  io.err(hint);
  return ExitCode.usage;
}

export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  if (argv.length === 0) return usageError(io, "missing command: 'check' or 'run'");
  let exitCode: number = ExitCode.ok;
  // Commander's messages start "error: "; ours start "isokit: ". The hint follows (showHelpAfterError).
  const program = new Command()
    .name("isokit")
    .description(
      "Check and run seL4 Microkit system descriptions (.system files) with JavaScript/TypeScript programs as the " +
        "protection domain images: one worker thread per PD, channels and protected calls over shared memory.",
    )
    .version(version(), "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) => {
        write(text.replace(/^error: /, "isokit: "));
      },
    })
    .showHelpAfterError("Try 'isokit --help'.");

  program
    .command("check")
    .description("check .system files against Microkit's rules; print a summary of each, or its errors as file:line:col")
    .argument("<file...>", ".system files")
    .option("--arch <arch>", "the kernel's architecture: aarch64, riscv64 or x86_64 (which <irq> kinds exist, ...)", "aarch64")
    .option("--config <key=value>", "a kernel configuration setting: cores=N, iommu=true|false, hypervisor=true|false, domains=N, domain-schedules=N (repeatable)", collect, [])
    .option("--search-path <dir>", "look for prefill_path files here, as Microkit's --search-path; a file found in none is then an error (repeatable)", collect, [])
    .option("--cpp", "run each file through the C preprocessor (cpp -P) first, as LionsOS .system templates need", false)
    .option("-I, --include <dir>", "with --cpp: an include directory (repeatable)", collect, [])
    .showHelpAfterError("Try 'isokit check --help'.")
    .addHelpText(
      "after",
      "\nDefaults are those of Microkit's tool test suite: aarch64, 1 core, IOMMU and hypervisor built, 16 domains, 100 schedule slots." +
        "\nExit status: 0 every file is valid; 2 a file is invalid or cannot be read.",
    )
    .action(async (files: string[], options: { arch: string; config: string[]; searchPath: string[]; cpp: boolean; include: string[] }) => {
      const { checkCommand, checkOptions } = await import("./check.ts");
      const parsed = checkOptions(options);
      if (!parsed.ok) {
        exitCode = usageError(io, parsed.reason, "Try 'isokit check --help'.");
        return;
      }
      exitCode = checkCommand(files, io, parsed.options);
    });

  program
    .command("run")
    .description(
      'boot a .system file and stream PD output. program_image path="x.elf" runs x.ts, x.mts, x.js or x.mjs ' +
        "beside the file. Stops when every PD waits with nothing pending, on --timeout, or on Ctrl-C (SIGINT) " +
        "or SIGTERM, each time with a clean shutdown.",
    )
    .argument("<file>", ".system file")
    .option("--image <name=path>", "run PD <name> from <path> instead (repeatable)", collect, [])
    .option("--timeout <ms>", "stop this many milliseconds after the command started (boot included)", milliseconds)
    .option("--keep-running", "do not stop when the system is idle (stop on Ctrl-C, SIGTERM or --timeout)", false)
    .option("--in-process", "run every PD in this thread (no isolation; for debugging)", false)
    .option("--trusted <name>", "run PD <name> trusted, outside its compartment, with Node's APIs (repeatable)", collect, [])
    .option("--restart <policy>", "restart faulted top-level PDs: one_for_one|one_for_all|rest_for_one[,intensity=N][,period=MS][,regions=keep|zero][,PD=permanent|transient|temporary...]")
    .option("--trace <file>", "record a trace and write it to <file> at the end (Chrome Trace Event JSON: open it in ui.perfetto.dev)")
    .option("--stats", "print statistics at the end: per PD, channel and endpoint operations, p50/p99/max latency, faults", false)
    .option("--json", "with --stats: print them as one JSON document on stdout", false)
    .option("--dashboard [port]", "serve a live dashboard on http://127.0.0.1:<port> (default 7357; 0 any free port) and run until stopped", port)
    .showHelpAfterError("Try 'isokit run --help'.")
    .addHelpText(
      "after",
      "\nPD output goes to stdout as 'name: text' lines; progress, faults and the summary go to stderr.\n" +
        "Exit status: 0 stopped with no unhandled fault; 1 a PD died unhandled (or the system could not boot);\n" +
        "2 usage error or invalid system; 130 / 143 stopped cleanly on SIGINT / SIGTERM.",
    )
    .action(async (file: string, options: { image: string[]; trusted: string[]; restart?: string; timeout?: number; keepRunning: boolean; inProcess: boolean; trace?: string; stats: boolean; json: boolean; dashboard?: number | true }) => {
      if (options.json && !options.stats) {
        exitCode = usageError(io, "--json needs --stats", "Try 'isokit run --help'.");
        return;
      }
      const { runCommand } = await import("./run.ts");
      const { parseRestartFlag } = await import("../kernel/supervisor.ts");
      let restart: RestartPolicy | undefined;
      try {
        restart = options.restart === undefined ? undefined : parseRestartFlag(options.restart);
      } catch (error) {
        exitCode = usageError(io, messageOf(error), "Try 'isokit run --help'.");
        return;
      }
      exitCode = await runCommand(file, { ...options, restart, dashboard: options.dashboard === true ? DEFAULT_DASHBOARD_PORT : options.dashboard }, io);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    // --help and --version end here too, with exit code 0; a usage error has been printed with its hint.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    // Whatever a command did not report itself: one line, no stack (ISOKIT_DEBUG=1 shows it).
    io.err(`isokit: ${process.env["ISOKIT_DEBUG"] === "1" && error instanceof Error ? (error.stack ?? error.message) : messageOf(error)}`);
    return ExitCode.pdDied;
  }
  return exitCode;
}

process.exitCode = await main(process.argv.slice(2));
