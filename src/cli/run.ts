/**
 * `isokit run FILE`: parse and check a `.system` file, resolve each program image to a module, boot the
 * system, stream PD output (stdout, `name: text`), and stop cleanly when the system goes idle, on
 * `--timeout` (counted from the start of the command), or on SIGINT / SIGTERM at any moment, boot included.
 * Progress, faults and the closing summary go to stderr.
 *
 * Exit: 0 stopped with no unhandled fault; 1 a PD died unhandled or the system did not boot; 2 an invalid
 * system or argument; 130 / 143 after a clean stop on SIGINT / SIGTERM (a second signal exits at once).
 */

import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import pc from "picocolors";
import { colourDiagnostic } from "./format.ts";
import { formatDiagnostic } from "../errors.ts";
import type { PdFault, PdState, RunningSystem } from "../kernel/system.ts";
import { allProtectionDomains, type SystemDescription } from "../sdf/description.ts";
import { parseSystem, unsupportedFeatures } from "../sdf/index.ts";
import { parseImageOverrides, resolveImages } from "./images.ts";
import { ExitCode, messageOf, type Io, type StopSignal } from "./io.ts";
import { loadBoot, registerTsx } from "./kernel.ts";
import { formatStats } from "../kernel/stats.ts";
import { DASHBOARD_TRACE } from "../kernel/trace.ts";
import type { RestartPolicy } from "../kernel/supervisor.ts";

export interface RunOptions {
  readonly image: readonly string[];
  readonly timeout?: number | undefined;
  readonly inProcess: boolean;
  readonly keepRunning: boolean;
  /** Write the trace (Chrome Trace Event / Perfetto JSON) here at the end. */
  readonly trace?: string | undefined;
  /** Print the statistics at the end (a table on stderr; with `json`, one JSON document on stdout). */
  readonly stats?: boolean | undefined;
  readonly json?: boolean | undefined;
  /** Serve the dashboard on 127.0.0.1 at this port (0: any free port); the system then runs until stopped. */
  readonly dashboard?: number | undefined;
  /** PDs whose programs run trusted (not confined): Node's whole authority in their worker. */
  readonly trusted?: readonly string[] | undefined;
  /** The restart policy of the top-level PDs (`--restart`; docs/supervision.md). */
  readonly restart?: RestartPolicy | undefined;
}

/** Why the system was stopped. */
type Stop =
  | { readonly kind: "idle" }
  | { readonly kind: "timeout"; readonly ms: number; readonly duringBoot: boolean }
  | { readonly kind: "signal"; readonly signal: StopSignal };

/**
 * The first stop request wins, whenever it comes (before boot, during it, after it). A second signal means
 * "now": the command exits at once with that signal's code, without waiting for the clean stop.
 */
class StopRequests {
  #first: Stop | undefined;
  #resolve!: (stop: Stop) => void;
  readonly requested = new Promise<Stop>((resolve) => {
    this.#resolve = resolve;
  });
  readonly #listeners = new Map<StopSignal, () => void>();

  constructor(io: Io) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const listener = () => {
        if (this.#first?.kind === "signal") {
          io.err(`isokit: ${signal} again: exiting without a clean stop`);
          process.exit(ExitCode[signal]);
        }
        this.request({ kind: "signal", signal });
      };
      this.#listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** The stop requested so far, if any. */
  current(): Stop | undefined {
    return this.#first;
  }

  request(stop: Stop): void {
    // A signal after a timeout or idleness still counts as a signal (the user asked), so it replaces them.
    if (this.#first !== undefined && !(stop.kind === "signal" && this.#first.kind !== "signal")) return;
    this.#first = stop;
    this.#resolve(stop);
  }

  [Symbol.dispose](): void {
    for (const [signal, listener] of this.#listeners) process.off(signal, listener);
  }
}

function describeStop(stop: Stop): string {
  switch (stop.kind) {
    case "idle":
      return "stopped (idle)";
    case "timeout":
      return `stopped (timeout of ${stop.ms} ms${stop.duringBoot ? ", during boot" : ""})`;
    case "signal":
      return `stopped by ${stop.signal}`;
  }
}

function faultLine(f: PdFault): string {
  return `isokit: ${pc.red("fault")} in ${pc.cyan(f.pd)} (${f.entry}): ${messageOf(f.error)}`;
}

/** What --trace and --stats ask for, once the system has stopped (its trace rings still readable). */
function report(system: RunningSystem, options: RunOptions, io: Io): void {
  if (options.trace !== undefined) {
    const file = system.observer.traceFile();
    if (file === undefined) {
      io.err("isokit: --trace needs the workers mode (in-process PDs have no trace ring)");
    } else {
      try {
        writeFileSync(options.trace, JSON.stringify(file));
        io.err(pc.dim(`trace: ${file.traceEvents.length} events written to ${options.trace} (open it in https://ui.perfetto.dev)`));
      } catch (error) {
        io.err(`isokit: --trace: cannot write ${options.trace}: ${messageOf(error)}`);
      }
    }
  }
  if (options.stats === true) {
    const stats = system.stats();
    if (options.json === true) io.out(JSON.stringify(stats));
    else io.err(formatStats(stats));
  }
}

/** Parses, checks and resolves; a description or argument error is printed and becomes `undefined`. */
function load(file: string, options: RunOptions, io: Io): SystemDescription | undefined {
  const display = relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    io.err(`isokit: cannot read ${display}: ${messageOf(error)}`);
    return undefined;
  }
  const parsed = parseSystem(text, display);
  if (!parsed.ok) {
    for (const d of parsed.diagnostics) io.err(colourDiagnostic(formatDiagnostic(d)));
    return undefined;
  }
  const unsupported = unsupportedFeatures(parsed.system);
  if (unsupported.length > 0) {
    for (const d of unsupported) io.err(colourDiagnostic(formatDiagnostic(d)));
    return undefined;
  }
  for (const w of parsed.warnings) io.err(colourDiagnostic(formatDiagnostic(w)));
  try {
    return resolveImages(parsed.system, file, parseImageOverrides(options.image, process.cwd()));
  } catch (error) {
    // resolveImages locates its own errors (`file:line:col: error: ...`); --image errors are usage errors.
    const message = messageOf(error);
    io.err(colourDiagnostic(/^\S+:\d+:\d+: error: /.test(message) ? message : `isokit: ${message}`));
    return undefined;
  }
}

/**
 * In the workers mode each PD worker registers tsx for a TypeScript program itself; in-process, the programs
 * load in this thread.
 */
function hasTypeScriptProgram(description: SystemDescription): boolean {
  return allProtectionDomains(description).some(({ pd }) => /\.[cm]?tsx?$/.test(pd.program));
}

export async function runCommand(file: string, options: RunOptions, io: Io): Promise<number> {
  using stops = new StopRequests(io);
  // --timeout counts from the start of the command: performance.now() is milliseconds since this process began.
  let booting = true;
  if (options.timeout !== undefined) {
    const ms = options.timeout;
    setTimeout(() => {
      stops.request({ kind: "timeout", ms, duringBoot: booting });
    }, Math.max(0, ms - performance.now())).unref();
  }

  const description = load(file, options, io);
  if (description === undefined) return ExitCode.usage;
  const boot = await loadBoot();
  if (options.inProcess && hasTypeScriptProgram(description)) await registerTsx();

  const names = allProtectionDomains(description).map(({ pd }) => pd.name);
  const reported = new Set<string>();
  const tick = io.interactive ? pc.green("✔") : "✔";
  const cross = io.interactive ? pc.red("✖") : "✖";
  const started = performance.now();
  // Before boot() returns, a stop request can only be noted: boot cannot be cancelled, so the stop waits
  // for it (at most its init timeout) and then shuts down what it started.
  const signalledBeforeBoot = stops.current()?.kind === "signal";
  let system: RunningSystem | undefined;
  let closeDashboard: (() => Promise<void>) | undefined;
  if (!signalledBeforeBoot) {
    // Which PDs hold ambient authority is part of what is being run: said before anything starts.
    const trusted = options.trusted ?? [];
    const trust = options.inProcess ? "in-process: nothing confined" : trusted.length === 0 ? "all confined" : `trusted (not confined): ${trusted.join(", ")}`;
    io.err(pc.dim(`booting ${names.join(", ")} (${trust})`));
    if (!options.inProcess && trusted.length > 0) io.err(`${io.interactive ? pc.yellow("!") : "!"} trusted PDs run with the whole process's authority (files, child processes, sockets): ${trusted.join(", ")}`);
    try {
      system = await boot(description, {
        mode: options.inProcess ? "in-process" : "workers",
        trusted: options.trusted ?? [],
        ...(options.restart === undefined ? {} : { restart: options.restart }),
        // Statistics and the dashboard need the trace for operations and latencies: a trace file and --stats the
        // full one, the dashboard alone a sampled one (it must not slow down what it watches).
        trace: options.inProcess ? false : options.trace !== undefined || options.stats === true ? true : options.dashboard !== undefined ? DASHBOARD_TRACE : false,
        onOutput: (e) => {
          io.out(`${io.interactive ? pc.cyan(e.pd) : e.pd}: ${e.text}`);
        },
        onState: (e: { readonly pd: string; readonly state: PdState }) => {
          if (!booting || reported.has(e.pd) || e.state === "starting") return;
          reported.add(e.pd);
          io.err(e.state === "running" ? `${tick} ${e.pd}: init() done` : `${cross} ${e.pd}: ${e.state}`);
        },
      });
    } catch (error) {
      booting = false;
      io.err(`isokit: ${messageOf(error)}`);
      const stop = stops.current();
      if (stop?.kind === "signal") {
        io.err(describeStop(stop));
        return ExitCode[stop.signal];
      }
      return ExitCode.pdDied;
    }
  }
  booting = false;

  if (system !== undefined) {
    // A PD whose init() had not returned when boot gave up waiting is still starting: say so, not "done".
    for (const pd of system.pds()) {
      if (reported.has(pd.name)) continue;
      io.err(pd.state === "starting" ? `${cross} ${pd.name}: init() has not returned` : `${tick} ${pd.name}: ${pd.state}`);
    }
    io.err(pc.dim(`booted ${names.length} PD${names.length === 1 ? "" : "s"} in ${Math.round(performance.now() - started)} ms`));
    for (const f of system.faults) io.err(faultLine(f));
    system.on("fault", (f) => {
      io.err(faultLine(f));
    });
    if (options.dashboard !== undefined) {
      const { startDashboard } = await import("../dashboard/server.ts");
      const dashboard = await startDashboard(system, { port: options.dashboard });
      closeDashboard = () => dashboard.close();
      io.err(`dashboard: ${dashboard.url} (Ctrl-C stops the system)`);
    }
    if (!options.keepRunning && options.dashboard === undefined) {
      void system.whenIdle().then(() => {
        stops.request({ kind: "idle" });
      });
    }
  }

  const stop = await stops.requested;
  if (system === undefined) {
    io.err(describeStop(stop));
    return stop.kind === "signal" ? ExitCode[stop.signal] : ExitCode.ok;
  }
  await system.shutdown();
  await closeDashboard?.();
  report(system, options, io);
  // A child's fault its parent handled (resumed or stopped it) is part of the system's design, not a failure;
  // so is a fault after which the PD was restarted. A restart policy that gave up is (its "supervisor" fault).
  const unhandled = system.faults.filter((f) => f.handledBy === undefined && f.restarted !== true).length;
  const states = system
    .pds()
    .map((p) => `${p.name} ${p.state === "faulted" || p.state === "exited" ? pc.red(p.state) : p.state}`)
    .join(", ");
  io.err(`${pc.dim(`${describeStop(stop)} after ${Math.round(performance.now())} ms:`)} ${states}`);
  if (stop.kind === "signal") return ExitCode[stop.signal];
  return unhandled > 0 ? ExitCode.pdDied : ExitCode.ok;
}
