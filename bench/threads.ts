/**
 * Worker threads for benchmark cases. The harness owns a `Threads` per case and terminates every worker it
 * spawned when the case ends, also when a round throws or times out, so no worker (and above all no spinning
 * worker, on a 2-core machine) outlives its case.
 *
 * Worker scripts are plain `.mjs` files under bench/workers/ (no TypeScript loader in workers) and speak one
 * small protocol with the main thread, over `parentPort`:
 *
 *   worker -> main  { ready: true }       once, when it has set up and is idle in its event loop
 *   main -> worker  { ...command }        one round (fields are the script's own)
 *   worker -> main  { value: number }     the round's figure, or { done: true } from a passive peer
 *   worker -> main  { error: string }     the round failed; the worker is back in its event loop, not spinning
 */

import { Worker, type Transferable, type WorkerOptions } from "node:worker_threads";

/** The directory holding the worker scripts. */
export const workerScripts = new URL("./workers/", import.meta.url);

export class Threads {
  readonly #live = new Set<Worker>();

  /** Starts `script` (a file in bench/workers/ when given as a bare name) and tracks it until it exits. */
  spawn(script: string | URL, options?: WorkerOptions): Worker {
    const url = typeof script === "string" ? new URL(script, workerScripts) : script;
    const worker = new Worker(url, options);
    this.#live.add(worker);
    worker.once("exit", () => this.#live.delete(worker));
    // A worker that fails outside a request (nobody listening) must not crash the whole run: requests see
    // the failure through their own 'error'/'exit' listeners.
    worker.on("error", () => undefined);
    return worker;
  }

  /** Workers started and not yet exited. */
  get live(): number {
    return this.#live.size;
  }

  /** Terminates every worker still alive and waits until each has exited. */
  async terminateAll(): Promise<void> {
    const workers = [...this.#live];
    this.#live.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The next message from `worker`, rejecting if it errors or exits first. `{ error }` replies reject too. */
export function nextMessage(worker: Worker, what: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (m: unknown): void => {
      cleanup();
      if (typeof m !== "object" || m === null) {
        reject(new Error(`${what}: unexpected message ${String(m)}`));
        return;
      }
      const record = m as Record<string, unknown>;
      const error = record["error"];
      if (typeof error === "string") reject(new Error(`${what}: ${error}`));
      else resolve(record);
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new Error(`${what}: worker threw: ${e.message}`, { cause: e }));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`${what}: worker exited with code ${code}`));
    };
    worker.on("message", onMessage);
    worker.once("error", onError);
    worker.once("exit", onExit);
  });
}

/** Waits for a freshly spawned worker's `{ ready: true }`. */
export async function ready(worker: Worker, what: string): Promise<void> {
  const m = await nextMessage(worker, what);
  if (m["ready"] !== true) throw new Error(`${what}: expected { ready: true }, got ${JSON.stringify(m)}`);
}

/** Posts one command and resolves to the `{ value }` the worker replies with. */
export async function request(worker: Worker, command: object, what: string, transfer?: readonly Transferable[]): Promise<number> {
  const reply = nextMessage(worker, what);
  worker.postMessage(command, transfer);
  return valueOf(await reply, what);
}

/** Reads `{ value: number }` from a worker reply. */
export function valueOf(m: Record<string, unknown>, what: string): number {
  const value = m["value"];
  if (typeof value !== "number") throw new Error(`${what}: expected { value: number }, got ${JSON.stringify(m)}`);
  return value;
}
