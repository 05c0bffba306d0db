/**
 * `isokit run FILE`: parse and check a `.system` file, resolve each program image to a module, boot the
 * system with progress while the PDs start, stream PD output prefixed with the PD's name, and stop cleanly
 * when the system goes idle, on `--timeout`, or on Ctrl-C. Exits 1 when a PD died unhandled.
 */

import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { Listr } from "listr2";
import pc from "picocolors";
import { colourDiagnostic } from "./format.ts";
import { formatDiagnostic, IpcError } from "../errors.ts";
import { boot } from "../kernel/boot.ts";
import type { PdState, SystemEvents } from "../kernel/system.ts";
import { allProtectionDomains } from "../sdf/description.ts";
import { parseSystem, unsupportedFeatures } from "../sdf/index.ts";
import { parseImageOverrides, resolveImages } from "./images.ts";

export interface RunOptions {
  readonly image: readonly string[];
  readonly timeout?: number | undefined;
  readonly inProcess: boolean;
  readonly keepRunning: boolean;
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  readonly interactive: boolean;
}

export async function runCommand(file: string, options: RunOptions, io: Io): Promise<number> {
  const display = relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    io.err(`${display}: error: cannot read: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const parsed = parseSystem(text, display);
  if (!parsed.ok) {
    for (const d of parsed.diagnostics) io.err(colourDiagnostic(formatDiagnostic(d)));
    return 1;
  }
  const unsupported = unsupportedFeatures(parsed.system);
  if (unsupported.length > 0) {
    for (const d of unsupported) io.err(colourDiagnostic(formatDiagnostic(d)));
    return 1;
  }
  for (const w of parsed.warnings) io.err(colourDiagnostic(formatDiagnostic(w)));

  let description;
  try {
    description = resolveImages(parsed.system, file, parseImageOverrides(options.image, process.cwd()));
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    return 1;
  }

  // During boot the progress display owns the terminal: hold PD output back until it is done.
  let held: SystemEvents["output"][] | undefined = [];
  const print = (e: SystemEvents["output"]) => {
    io.out(`${pc.cyan(e.pd)}: ${e.text}`);
  };
  const onOutput = (e: SystemEvents["output"]) => {
    if (held === undefined) print(e);
    else held.push(e);
  };
  const waiters = new Map<string, (state: PdState) => void>();
  const settled = new Map<string, PdState>();
  const onState = (e: SystemEvents["state"]) => {
    settled.set(e.pd, e.state);
    waiters.get(e.pd)?.(e.state);
  };
  const stateOf = (pd: string) =>
    new Promise<PdState>((resolve) => {
      const now = settled.get(pd);
      if (now !== undefined) resolve(now);
      else waiters.set(pd, resolve);
    });

  const started = Date.now();
  const booting = boot(description, {
    mode: options.inProcess ? "in-process" : "workers",
    onOutput,
    onState,
  });
  const names = allProtectionDomains(description).map(({ pd }) => pd.name);
  const progress = new Listr(
    names.map((name) => ({
      title: `starting ${name}`,
      task: async (_ctx: unknown, task: { title: string }) => {
        const state = await Promise.race([stateOf(name), booting.then(() => settled.get(name) ?? "running", () => "faulted" as const)]);
        task.title = `${name}: ${state === "running" ? "init() done" : state}`;
        if (state !== "running") throw new Error(`${name}: ${state}`);
      },
    })),
    { concurrent: true, exitOnError: false, renderer: io.interactive ? "default" : "simple", rendererOptions: {} },
  );
  const progressDone = progress.run().catch(() => undefined);
  let system;
  try {
    system = await booting;
  } catch (error) {
    await progressDone;
    io.err(pc.red(error instanceof IpcError ? error.message : String(error)));
    return 1;
  } finally {
    await progressDone;
    const pending = held;
    held = undefined;
    for (const e of pending) print(e);
  }
  io.out(pc.dim(`booted ${names.length} PDs in ${Date.now() - started} ms`));

  system.on("fault", (f) => {
    io.err(`${pc.red("fault")} in ${pc.cyan(f.pd)} (${f.entry}): ${f.error.message}`);
  });
  for (const f of system.faults) io.err(`${pc.red("fault")} in ${pc.cyan(f.pd)} (${f.entry}): ${f.error.message}`);

  const reason = await new Promise<string>((resolve) => {
    const onSigint = () => {
      resolve("interrupted");
    };
    process.once("SIGINT", onSigint);
    if (options.timeout !== undefined) setTimeout(() => {
      resolve(`timeout of ${options.timeout} ms`);
    }, options.timeout).unref();
    if (!options.keepRunning) {
      void system.whenIdle().then(() => {
        resolve("idle");
      });
    }
  });
  await system.shutdown();
  // A child's fault its parent handled (resumed or stopped it) is part of the system's design, not a failure.
  const faults = system.faults.filter((f) => f.handledBy === undefined).length;
  io.out(
    pc.dim(`stopped (${reason}) after ${Date.now() - started} ms: `) +
      system
        .pds()
        .map((p) => `${p.name} ${p.state === "faulted" || p.state === "exited" ? pc.red(p.state) : p.state}`)
        .join(", "),
  );
  return faults > 0 ? 1 : 0;
}

