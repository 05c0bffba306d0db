/**
 * What both PD runtimes (worker, in-process) share: the rights table of the PD's channel ends, the entry-point
 * runner (one at a time, deferred notify sent on return, failures wrapped with the entry point's name), and
 * the default behaviour of entry points the program does not define.
 */

import { IpcError } from "../errors.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import { IpcBuffer } from "../shm/ipc-buffer.ts";
import { Channel, type ChannelSet, MAX_CHANNEL_ID, toMessageInfo } from "./channel.ts";
import type { PdContext } from "./context.ts";
import type { IpcClient } from "../ipc/client.ts";
import type { Child, FaultVerdict, Handler } from "./program.ts";
import type { MappedRegion } from "./regions.ts";

/** What a PD may do with one of its channel ends. */
export interface EndRights {
  readonly id: number;
  readonly pp: boolean;
  readonly notify: boolean;
  readonly peer: string;
}

export type EntryPoint = "init" | "notified" | "protected" | "fault";

/** Channel objects are immutable: one per id, so serving a call allocates none. */
const CHANNELS: readonly Channel[] = Array.from({ length: MAX_CHANNEL_ID + 1 }, (_, id) => new Channel(id));

export abstract class PdRuntime implements PdContext {
  readonly ipc = new IpcBuffer();
  private deferred: number | undefined;
  private running: EntryPoint | undefined;

  readonly name: string;
  protected readonly handler: Handler;
  protected readonly rights: ReadonlyMap<number, EndRights>;
  private readonly regions: ReadonlyMap<string, MappedRegion>;
  /** The same ends indexed by id (an array lookup on the hot path; out-of-range ids read undefined). */
  private readonly byId: readonly (EndRights | undefined)[];

  protected constructor(name: string, handler: Handler, rights: ReadonlyMap<number, EndRights>, regions: readonly MappedRegion[]) {
    this.name = name;
    this.handler = handler;
    this.rights = rights;
    this.byId = Array.from({ length: MAX_CHANNEL_ID + 1 }, (_, id) => rights.get(id));
    this.regions = new Map(regions.map((r) => [r.symbol, r]));
  }

  region(symbol: string): MappedRegion {
    const region = this.regions.get(symbol);
    if (region === undefined) {
      const known = [...this.regions.keys()].map((k) => `'${k}'`).join(", ");
      throw new IpcError("InvalidArgument", `memoryRegion: PD '${this.name}' has no mapping '${symbol}' (it maps ${known === "" ? "none" : known})`, {
        operation: "memoryRegion",
        pd: this.name,
      });
    }
    return region;
  }

  abstract notify(channel: number, operation: string): void;
  abstract ppcall(channel: number, info: MessageInfo): MessageInfo;
  abstract output(text: string): void;
  abstract ipcClient(operation: string): IpcClient;
  abstract asyncEnd(name: string, role: "producer" | "consumer", operation: string): unknown;

  /** The rights of `channel`, or `InvalidChannel` naming the operation (`ppcall: not valid for channel 13`). */
  protected endFor(channel: number, operation: string): EndRights {
    const end = this.byId[channel];
    if (end === undefined) {
      throw new IpcError("InvalidChannel", `${operation}: not valid for channel ${channel} (PD '${this.name}' holds no such channel)`, {
        operation,
        channel,
        pd: this.name,
      });
    }
    return end;
  }

  protected endForPpcall(channel: number): EndRights {
    const end = this.endFor(channel, "ppcall");
    if (!end.pp) {
      throw new IpcError(
        "PermissionDenied",
        `ppcall: not valid for channel ${channel} (PD '${this.name}' has no pp="true" on this end)`,
        { operation: "ppcall", channel, pd: this.name },
      );
    }
    return end;
  }

  checkNotify(channel: number, operation: string): void {
    this.endForNotify(channel, operation);
  }

  /** The rights of `channel` if it may notify, or the typed error. */
  protected endForNotify(channel: number, operation: string): EndRights {
    const end = this.endFor(channel, operation);
    if (!end.notify) {
      throw new IpcError(
        "PermissionDenied",
        `${operation}: not valid for channel ${channel} (PD '${this.name}' has notify="false" on this end)`,
        { operation, channel, pd: this.name },
      );
    }
    return end;
  }

  deferNotify(channel: number): void {
    if (this.running === undefined) {
      throw new IpcError("NotInitialized", "deferredNotify: only valid inside an entry point", {
        operation: "deferredNotify",
        channel,
        pd: this.name,
      });
    }
    this.checkNotify(channel, "deferredNotify");
    if (this.deferred !== undefined) {
      throw new IpcError(
        "ResourceBusy",
        `deferredNotify: a deferred notify to channel ${this.deferred} is already pending in this ${this.running}(); at most one per entry point`,
        { operation: "deferredNotify", channel, pd: this.name },
      );
    }
    this.deferred = channel;
  }

  /** Runs `init()`. Throws `EntryPointFailed` (cause: what the program threw). */
  runInit(): void {
    this.enter("init", () => {
      this.handler.init?.();
    });
  }

  /** Runs `notified()`: a hot path too (a notification ping-pong), so as `runProtected`, without a closure per call. */
  runNotified(channels: ChannelSet): void {
    if (this.running !== undefined || this.handler.notified === undefined) {
      this.enter("notified", () => {
        throw new IpcError("EntryPointFailed", `notified: PD '${this.name}' has no notified() entry point but was notified on ${channels.toString()}`, {
          operation: "notified",
          pd: this.name,
        });
      });
      return;
    }
    this.running = "notified";
    this.deferred = undefined;
    try {
      this.handler.notified(channels);
    } catch (error) {
      throw entryFailure("notified", this.name, error);
    } finally {
      this.running = undefined;
    }
    this.sendDeferred("notified");
  }

  /**
   * Runs `protected()` and checks that it returned a MessageInfo. This is the callee's hot path, so it does
   * what `enter` does without allocating a closure per call.
   */
  runProtected(channel: number, info: MessageInfo): MessageInfo {
    if (this.running !== undefined || this.handler.protected === undefined) {
      return this.enter("protected", () => {
        throw new IpcError(
          "EntryPointFailed",
          `protected: PD '${this.name}' has no protected() entry point but was called on channel ${channel} with ${info.toString()}`,
          { operation: "protected", channel, pd: this.name },
        );
      });
    }
    this.running = "protected";
    this.deferred = undefined;
    let reply: unknown;
    try {
      reply = this.handler.protected(CHANNELS[channel]!, info);
    } catch (error) {
      throw entryFailure("protected", this.name, error);
    } finally {
      this.running = undefined;
    }
    const checked = reply instanceof MessageInfo ? reply : this.checkedReply(reply);
    this.sendDeferred("protected");
    return checked;
  }

  private checkedReply(reply: unknown): MessageInfo {
    try {
      return toMessageInfo(reply, "protected");
    } catch (error) {
      throw entryFailure("protected", this.name, error);
    }
  }

  private sendDeferred(entry: EntryPoint): void {
    const deferred = this.takeDeferred();
    if (deferred === undefined) return;
    try {
      this.notify(deferred, "deferredNotify");
    } catch (error) {
      throw entryFailure(entry, this.name, error);
    }
  }

  /** Runs `fault()` where a restart is possible (workers mode): true resume, false stop, "restart". */
  runFaultVerdict(child: Child, info: MessageInfo): FaultVerdict {
    return this.enter("fault", () => {
      if (this.handler.fault === undefined) return false;
      const verdict: unknown = this.handler.fault(child, info);
      if (typeof verdict !== "boolean" && verdict !== "restart") {
        throw new IpcError("EntryPointFailed", `fault: must return true (resume the child), false (stop it) or "restart", got ${typeof verdict}`, {
          operation: "fault",
          pd: this.name,
        });
      }
      return verdict;
    });
  }

  /** Runs `fault()` where only resume or stop is possible (in-process mode): a "restart" verdict stops the child. */
  runFault(child: Child, info: MessageInfo): boolean {
    return this.runFaultVerdict(child, info) === true;
  }

  private takeDeferred(): number | undefined {
    const deferred = this.deferred;
    this.deferred = undefined;
    return deferred;
  }

  private enter<T>(entry: EntryPoint, body: () => T): T {
    if (this.running !== undefined) {
      throw new IpcError("ResourceBusy", `${entry}: PD '${this.name}' is already running ${this.running}(); entry points run one at a time`, {
        operation: entry,
        pd: this.name,
      });
    }
    this.running = entry;
    this.deferred = undefined;
    let result: T;
    try {
      result = body();
    } catch (error) {
      throw entryFailure(entry, this.name, error);
    } finally {
      this.running = undefined;
    }
    this.sendDeferred(entry);
    return result;
  }
}

function entryFailure(entry: EntryPoint, pd: string, error: unknown): IpcError {
  if (error instanceof IpcError && error.code === "EntryPointFailed" && error.pd === pd) return error;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new IpcError("EntryPointFailed", `${entry}: PD '${pd}' threw ${what}`, { operation: entry, pd }, { cause: error });
}
