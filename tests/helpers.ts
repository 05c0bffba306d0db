import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { boot, isIpcError, type BootOptions, type ErrorCode, type RunningSystem, type SystemDescription } from "../src/index.ts";

export const testsDir = dirname(fileURLToPath(import.meta.url));
export const modes = ["workers", "in-process"] as const;
export type Mode = (typeof modes)[number];

export interface Booted extends AsyncDisposable {
  readonly system: RunningSystem;
  /** Output so far, as `pd: text`. */
  readonly lines: string[];
  /** Output of one PD, text only. */
  of(pd: string): string[];
}

/** Boots `description` (programs relative to tests/), waits until it is idle, and shuts it down on dispose. */
export async function run(description: SystemDescription, mode: Mode, options: BootOptions = {}): Promise<Booted> {
  const lines: string[] = [];
  const system = await boot(description, {
    mode,
    baseDir: testsDir,
    onOutput: (e) => lines.push(`${e.pd}: ${e.text}`),
    ...options,
  });
  await system.whenIdle();
  return {
    system,
    lines,
    of: (pd) => lines.filter((l) => l.startsWith(`${pd}: `)).map((l) => l.slice(pd.length + 2)),
    [Symbol.asyncDispose]: () => system.shutdown(),
  };
}

/** The tutorial's shape: a client (priority 100, end 13 with pp, end 14) and a server (priority 200, 37 and 38). */
export function clientServer(client: string): SystemDescription {
  return {
    protectionDomains: [
      { name: client, priority: 100, program: "programs/client.ts" },
      { name: "server", priority: 200, program: "programs/server.ts" },
    ],
    channels: [
      { ends: [{ pd: client, id: 13, pp: true }, { pd: "server", id: 37 }] },
      { ends: [{ pd: client, id: 14 }, { pd: "server", id: 38 }] },
    ],
  };
}

/** The `IpcError` code `fn` throws, or "ok" if it returns; any other throw fails the test. */
export function errorCode(fn: () => unknown): ErrorCode | "ok" {
  try {
    fn();
    return "ok";
  } catch (error) {
    if (isIpcError(error)) return error.code;
    throw error;
  }
}
