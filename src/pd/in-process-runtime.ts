/**
 * A PD in the in-process mode: all PDs share one thread. A notify sets a pending bit on the peer and asks the
 * scheduler to run; a ppcall is a direct dispatch into the callee's `protected()`, with the registers copied
 * between the two PDs' private IPC buffers exactly as in worker mode (`count` words each way).
 *
 * For users' unit tests and for places without SharedArrayBuffer. Nothing is isolated here — every PD can
 * reach every other's objects through the shared heap — so it tests behaviour, never security.
 */

import { IpcError } from "../errors.ts";
import type { MessageInfo } from "../protocol/message-info.ts";
import { ChannelSet } from "./channel.ts";
import { enterPd } from "./context.ts";
import type { Handler } from "./program.ts";
import type { MappedRegion } from "./regions.ts";
import { PdRuntime, type EndRights } from "./runtime.ts";

export interface InProcessEnd extends EndRights {
  /** The peer's id for this channel. */
  readonly peerId: number;
}

/** What the in-process kernel provides to its PDs. */
export interface InProcessScheduler {
  lookup(name: string): InProcessPd | undefined;
  /** Some PD has pending notifications: deliver them once the current entry points have returned. */
  schedule(): void;
  /** `pd` threw out of an entry point: report it; returns true if its parent's fault() let it resume. */
  fault(pd: InProcessPd, entry: string, error: unknown): boolean;
  output(pd: string, text: string): void;
}

export class InProcessPd extends PdRuntime {
  readonly priority: number;
  /** The parent's name and this PD's id in the parent's view, for a child PD. */
  readonly parent: { readonly name: string; readonly childId: number } | undefined;
  dead = false;
  private pendingLow = 0;
  private pendingHigh = 0;
  private readonly ends: ReadonlyMap<number, InProcessEnd>;
  private readonly scheduler: InProcessScheduler;

  constructor(
    name: string,
    priority: number,
    handler: Handler,
    ends: ReadonlyMap<number, InProcessEnd>,
    scheduler: InProcessScheduler,
    parent: { readonly name: string; readonly childId: number } | undefined,
    regions: readonly MappedRegion[],
  ) {
    super(name, handler, ends, regions);
    this.priority = priority;
    this.parent = parent;
    this.ends = ends;
    this.scheduler = scheduler;
  }

  ipcClient(operation: string): never {
    throw new IpcError(
      "NotInitialized",
      `${operation}: endpoints and capabilities need the worker mode (boot with mode "workers"): in one thread a blocking receive or call could never be answered`,
      { operation, pd: this.name },
    );
  }

  asyncEnd(name: string, _role: "producer" | "consumer", operation: string): never {
    throw new IpcError("NotInitialized", `${operation}: no async channel '${name}' (async channels need the workers mode)`, { operation, pd: this.name });
  }

  get hasPending(): boolean {
    return !this.dead && (this.pendingLow !== 0 || this.pendingHigh !== 0);
  }

  /** Takes the pending notifications (coalesced) as a set, clearing them. */
  takePending(): ChannelSet {
    const set = new ChannelSet(this.pendingLow, this.pendingHigh);
    this.pendingLow = 0;
    this.pendingHigh = 0;
    return set;
  }

  private markPending(id: number): void {
    if (id < 31) this.pendingLow |= 1 << id;
    else this.pendingHigh |= 1 << (id - 31);
  }

  notify(channel: number, operation: string): void {
    this.checkNotify(channel, operation);
    const end = this.ends.get(channel)!;
    const peer = this.livePeer(end, operation);
    peer.markPending(end.peerId);
    this.scheduler.schedule();
  }

  ppcall(channel: number, info: MessageInfo): MessageInfo {
    const end = this.endForPpcall(channel) as InProcessEnd;
    const callee = this.livePeer(end, "ppcall");
    const n = info.count * 2;
    for (let i = 0; i < n; i++) callee.ipc.u32[i] = this.ipc.u32[i]!;
    let reply: MessageInfo;
    try {
      reply = enterPd(callee, () => callee.runProtected(end.peerId, info));
    } catch (error) {
      if (this.scheduler.fault(callee, "protected", error)) {
        throw new IpcError(
          "EntryPointFailed",
          `ppcall: PD '${callee.name}' faulted serving the call on channel ${channel}; its parent let it resume`,
          { operation: "ppcall", channel, pd: callee.name },
          { cause: error },
        );
      }
      throw new IpcError("PeerDied", `ppcall: PD '${callee.name}' at the other end of channel ${channel} has died`, {
        operation: "ppcall",
        channel,
        pd: callee.name,
      }, { cause: error });
    }
    const m = reply.count * 2;
    for (let i = 0; i < m; i++) this.ipc.u32[i] = callee.ipc.u32[i]!;
    return reply;
  }

  output(text: string): void {
    this.scheduler.output(this.name, text);
  }

  private livePeer(end: InProcessEnd, operation: string): InProcessPd {
    const peer = this.scheduler.lookup(end.peer);
    if (peer === undefined || peer.dead) {
      throw new IpcError("PeerDied", `${operation}: PD '${end.peer}' at the other end of channel ${end.id} has died`, {
        operation,
        channel: end.id,
        pd: end.peer,
      });
    }
    return peer;
  }
}
