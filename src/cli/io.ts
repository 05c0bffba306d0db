/**
 * What the commands write and how: status, progress and errors go to stderr, PD output and summaries a
 * script may want to capture go to stdout. Every runtime error is one line, `isokit: <message>`; a system
 * description's errors are `file:line:col: error: <message>` (src/errors.ts formatDiagnostic).
 */

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** stderr is a terminal (progress may use colour and symbols meant for a human). */
  readonly interactive: boolean;
}

// A reader that went away (`isokit check x.system | head -1`) closes the pipe: stop writing, quietly, as
// Unix tools do, instead of dying on an unhandled EPIPE with a stack.
let stdoutClosed = false;
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  stdoutClosed = true;
});

export const stdio: Io = {
  out: (line) => {
    if (!stdoutClosed) process.stdout.write(`${line}\n`);
  },
  err: (line) => process.stderr.write(`${line}\n`),
  interactive: process.stderr.isTTY,
};

/** The exit status of every command. */
export const ExitCode = {
  ok: 0,
  /** A PD died and no parent handled it, or the system could not boot. */
  pdDied: 1,
  /** The command line or the system description is wrong. */
  usage: 2,
  /** Stopped cleanly on SIGINT (128 + 2, the shell's convention). */
  SIGINT: 130,
  /** Stopped cleanly on SIGTERM (128 + 15). */
  SIGTERM: 143,
} as const;

export type StopSignal = "SIGINT" | "SIGTERM";

/**
 * An error's message for a one-line report: the lines up to the first stack frame. A closed capability's
 * message carries where it was closed (`... was closed at:` and frames); the frames are the kernel's or
 * the PD's internals, noise to the person running the command, so they are left out here.
 */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\s+at\s/.test(line)) break;
    lines.push(line);
  }
  return lines.join("\n").replace(/\s+at:\s*$/, "").trimEnd();
}
