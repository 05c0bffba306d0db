/**
 * The running PD, as seen by the functions a program calls (`getMr`, `Channel.notify`, ...).
 *
 * In a worker there is one PD per isolate, so the context is set once. In the in-process mode several PDs
 * share a thread and the dispatcher switches the context around every entry point it runs (`enterPd`).
 *
 * The context lives on `globalThis` under a registered symbol, not in a module variable: a program may import
 * isokit through another path than the runtime did (the package name, `dist/`, `src/`), which gives it its
 * own copy of this module. Every copy must find the same current PD.
 */

import { IpcError } from "../errors.ts";
import type { MessageInfo } from "../protocol/message-info.ts";
import type { IpcBuffer } from "../shm/ipc-buffer.ts";
import type { IpcClient } from "../ipc/client.ts";
import type { MappedRegion } from "./regions.ts";

/** What the runtime of one PD provides to the program's calls. */
export interface PdContext {
  readonly name: string;
  readonly ipc: IpcBuffer;
  /** Signals the peer of channel `channel`; throws `InvalidChannel` / `PermissionDenied` / `PeerDied`. */
  notify(channel: number, operation: string): void;
  /** Checks that `notify` on `channel` would be allowed now, without sending (for deferred notifies). */
  checkNotify(channel: number, operation: string): void;
  /** A protected call through `channel`; the reply's registers are in `ipc` when it returns. */
  ppcall(channel: number, info: MessageInfo): MessageInfo;
  /** Records a notify to send when the running entry point returns (at most one per entry point). */
  deferNotify(channel: number): void;
  /** Writes one line of PD output (the kernel prefixes it with the PD's name). */
  output(text: string): void;
  /** The memory region mapped under `symbol`. */
  region(symbol: string): MappedRegion;
  /** The PD's endpoint and capability API (worker mode); throws `NotInitialized` where there is none. */
  ipcClient(operation: string): IpcClient;
  /** This PD's end of the async channel `name` wired at boot (its descriptor), or a typed error. */
  asyncEnd(name: string, role: "producer" | "consumer", operation: string): unknown;
}

const CURRENT = Symbol.for("isokit.currentPd");

/**
 * One holder object per isolate, shared by every copy of this module (found through the registered symbol
 * once, at load). Reading `holder.pd` is an ordinary property load: the hot path does it several times per
 * call, and a symbol-keyed load from the global object costs more.
 */
interface Holder {
  pd: PdContext | undefined;
}
const holder: Holder = sharedHolder();

function sharedHolder(): Holder {
  const existing: unknown = Reflect.get(globalThis, CURRENT);
  if (typeof existing === "object" && existing !== null && "pd" in existing) return existing as Holder;
  const created: Holder = { pd: undefined };
  Reflect.set(globalThis, CURRENT, created);
  return created;
}

export function currentPd(operation: string): PdContext {
  const pd = holder.pd;
  if (pd === undefined) {
    throw new IpcError("NotInitialized", `${operation}: not inside a running protection domain`, { operation });
  }
  return pd;
}

/** Runs `fn` with `pd` as the current PD, restoring the previous one after (nested in-process calls). */
export function enterPd<T>(pd: PdContext, fn: () => T): T {
  const previous = holder.pd;
  holder.pd = pd;
  try {
    return fn();
  } finally {
    holder.pd = previous;
  }
}

/** Makes `pd` the current PD for the rest of the isolate's life (worker mode). */
export function setCurrentPd(pd: PdContext): void {
  holder.pd = pd;
}
