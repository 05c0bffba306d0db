/**
 * One channel's shared buffer (layout: protocol/layout.ts, "Channel buffer"), seen from one of its ends.
 *
 * Who may write what is in the layout table. This class adds the copies between the shared message area and a
 * private `IpcBuffer`, and the checks a receiver makes on what a peer wrote: a peer is untrusted, so a count
 * or label out of range is refused here, on the receiving side, not assumed away.
 *
 * Memory ordering: the message words are plain (non-atomic) stores; they are published by the
 * `Atomics.store` of CALL_STATE that follows them and observed after the `Atomics.load` of CALL_STATE that
 * precedes the reads (sequentially consistent atomics order the plain accesses around them).
 */

import { CHANNEL, CHANNEL_BYTES, CHANNEL_I32, CHANNEL_MAGIC, MR_COUNT } from "../protocol/layout.ts";
import { MAX_LABEL, MessageInfo } from "../protocol/message-info.ts";
import type { IpcBuffer } from "./ipc-buffer.ts";

const MRS_U32 = CHANNEL.MRS / 4;
const TWO_POW_32 = 2 ** 32;

export class ChannelMemory {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  /** 0 or 1: which end of the channel this view belongs to. */
  readonly end: 0 | 1;
  /** Int32 index of the count of notifications the peer has sent this end (a change means one is pending). */
  readonly notifyToMe: number;
  /** Int32 index of the count of notifications this end has sent the peer (only this end writes it). */
  readonly notifyToPeer: number;
  /** Int32 index of the `notifyToMe` count this end has taken, published before it sleeps (for the kernel). */
  readonly notifySeenByMe: number;
  /** Int32 index of the other end's "dead" flag. */
  readonly peerDead: number;
  /** Int32 index of this end's own "dead" flag. */
  readonly selfDead: number;
  /**
   * The tag `readMessage` returned last: a message with the same label and count gets the same (immutable)
   * object, so that back-to-back calls allocate nothing here. Each allocation on a hot path is a scavenge
   * sooner, and a scavenge stops the PD (and wakes V8's helper threads) for a few hundred microseconds.
   */
  private lastRead: MessageInfo | undefined;

  constructor(buffer: SharedArrayBuffer, end: 0 | 1) {
    if (buffer.byteLength < CHANNEL_BYTES) throw new RangeError(`channel buffer too small: ${buffer.byteLength} bytes`);
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.end = end;
    this.notifyToMe = end === 0 ? CHANNEL_I32.NOTIFY_TO_END0 : CHANNEL_I32.NOTIFY_TO_END1;
    this.notifyToPeer = end === 0 ? CHANNEL_I32.NOTIFY_TO_END1 : CHANNEL_I32.NOTIFY_TO_END0;
    this.notifySeenByMe = end === 0 ? CHANNEL_I32.NOTIFY_SEEN_BY_END0 : CHANNEL_I32.NOTIFY_SEEN_BY_END1;
    this.selfDead = end === 0 ? CHANNEL_I32.END0_DEAD : CHANNEL_I32.END1_DEAD;
    this.peerDead = end === 0 ? CHANNEL_I32.END1_DEAD : CHANNEL_I32.END0_DEAD;
  }

  /** A fresh channel buffer, stamped by the kernel with the magic and a tag naming the channel. */
  static create(tag: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(CHANNEL_BYTES);
    const i32 = new Int32Array(buffer);
    i32[CHANNEL_I32.MAGIC] = CHANNEL_MAGIC;
    i32[CHANNEL_I32.TAG] = tag;
    return buffer;
  }

  get tag(): number {
    return Atomics.load(this.i32, CHANNEL_I32.TAG);
  }

  /** Copies `info.count` registers from `ipc` into the shared message area, then the tag words. */
  writeMessage(info: MessageInfo, ipc: IpcBuffer): void {
    const u32 = this.u32;
    const src = ipc.u32;
    const n = info.count * 2;
    for (let i = 0; i < n; i++) u32[MRS_U32 + i] = src[i]!;
    u32[CHANNEL_I32.MSG_COUNT] = info.count;
    u32[CHANNEL_I32.MSG_LABEL_LO] = info.label >>> 0;
    u32[CHANNEL_I32.MSG_LABEL_HI] = Math.floor(info.label / TWO_POW_32);
  }

  /**
   * Reads the message a peer published into `ipc`, copying only `count` registers.
   * @returns the message's tag, or `undefined` when the peer wrote a count or label out of range (the caller
   *   refuses the message; nothing has been copied)
   */
  readMessage(ipc: IpcBuffer): MessageInfo | undefined {
    const u32 = this.u32;
    const count = u32[CHANNEL_I32.MSG_COUNT]!;
    const label = u32[CHANNEL_I32.MSG_LABEL_HI]! * TWO_POW_32 + u32[CHANNEL_I32.MSG_LABEL_LO]!;
    if (count > MR_COUNT || label > MAX_LABEL) return undefined;
    const dst = ipc.u32;
    const n = count * 2;
    for (let i = 0; i < n; i++) dst[i] = u32[MRS_U32 + i]!;
    const last = this.lastRead;
    if (last !== undefined && last.label === label && last.count === count) return last;
    return (this.lastRead = new MessageInfo(label, count));
  }
}
