/**
 * `Channel`: a PD's name for one end of a Microkit channel (`microkit_channel`, rust-sel4 `Channel`).
 * It is only a number, 0..61, local to the PD; authority comes from the kernel, which gave the PD the
 * channel's buffer or did not. Every method checks, at the call, that the running PD holds the channel.
 */

import { IpcError } from "../errors.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import { currentPd } from "./context.ts";

/** Highest channel id: Microkit reserves badge bits 62 and 63. */
export const MAX_CHANNEL_ID = 61;

export class Channel {
  readonly index: number;

  constructor(index: number) {
    if (!Number.isInteger(index) || index < 0 || index > MAX_CHANNEL_ID) {
      throw new IpcError("InvalidChannel", `Channel: id must be an integer in 0..${MAX_CHANNEL_ID}, got ${String(index)}`, {
        operation: "Channel",
      });
    }
    this.index = index;
  }

  /** Signals the PD at the other end. Coalesces: several notifies before it runs may be seen as one. */
  notify(): void {
    currentPd("notify").notify(this.index, "notify");
  }

  /**
   * Microkit's `microkit_deferred_notify`: the notify is sent when the running entry point returns. At most
   * one deferred notify per entry point; a second throws `ResourceBusy`.
   */
  deferredNotify(): void {
    currentPd("deferredNotify").deferNotify(this.index);
  }

  /**
   * A protected procedure call: copies `msgInfo.count` message registers to the PD at the other end, runs its
   * `protected()` and blocks until it returns. The reply's registers are then readable with `getMr`.
   * @throws IpcError `InvalidChannel` (not held), `PermissionDenied` (no `pp` on this end), `PeerDied`
   */
  ppcall(msgInfo: MessageInfo): MessageInfo {
    if (!(msgInfo instanceof MessageInfo)) msgInfo = toMessageInfo(msgInfo, "ppcall");
    return currentPd("ppcall").ppcall(this.index, msgInfo);
  }

  equals(other: Channel): boolean {
    return this.index === other.index;
  }

  toString(): string {
    return `Channel(${this.index})`;
  }
}

/**
 * Accepts a MessageInfo made by another copy of this module (duck-typed), re-validating it.
 * @throws IpcError `InvalidArgument` when `value` is not a MessageInfo
 */
export function toMessageInfo(value: unknown, operation: string): MessageInfo {
  if (value instanceof MessageInfo) return value;
  if (typeof value === "object" && value !== null && "label" in value && "count" in value) {
    const { label, count } = value;
    if (typeof label === "number" && typeof count === "number") return new MessageInfo(label, count);
  }
  throw new IpcError("InvalidArgument", `${operation}: expected a MessageInfo, got ${describe(value)}`, { operation });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor.name;
  return typeof value;
}

/**
 * The channels that were notified since the PD last ran (rust-sel4 2.x `ChannelSet`): notifications
 * coalesce, like bits in a seL4 notification word. Iterating yields them in increasing id order.
 */
export class ChannelSet implements Iterable<Channel> {
  /** Ids 0..30 in `low`, 31..61 in `high` (bit `id - 31`). */
  private readonly low: number;
  private readonly high: number;

  constructor(low: number, high: number) {
    this.low = low >>> 0;
    this.high = high >>> 0;
  }

  static of(ids: Iterable<number>): ChannelSet {
    let low = 0;
    let high = 0;
    for (const id of ids) {
      new Channel(id); // validates
      if (id < 31) low |= 1 << id;
      else high |= 1 << (id - 31);
    }
    return new ChannelSet(low, high);
  }

  has(channel: Channel | number): boolean {
    const id = typeof channel === "number" ? channel : channel.index;
    if (!Number.isInteger(id) || id < 0 || id > MAX_CHANNEL_ID) return false;
    return id < 31 ? (this.low & (1 << id)) !== 0 : (this.high & (1 << (id - 31))) !== 0;
  }

  get size(): number {
    return popcount(this.low) + popcount(this.high);
  }

  get isEmpty(): boolean {
    return this.low === 0 && this.high === 0;
  }

  ids(): number[] {
    const out: number[] = [];
    for (let id = 0; id <= MAX_CHANNEL_ID; id++) if (this.has(id)) out.push(id);
    return out;
  }

  *[Symbol.iterator](): Iterator<Channel> {
    for (const id of this.ids()) yield new Channel(id);
  }

  toString(): string {
    return `ChannelSet{${this.ids().join(", ")}}`;
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}
