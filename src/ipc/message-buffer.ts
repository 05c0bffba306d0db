/**
 * A PD's own message buffer for endpoint IPC without copies or allocation (seL4's IPC buffer): `callInto` sends
 * its bytes and reads the reply into it, `receiveInto` fills it with a message (and, for a call, the right to
 * answer it), `replyInto` / `replyRecvInto` answer from it. One buffer serves every call of a loop:
 *
 * ```ts
 * const buf = new MessageBuffer();
 * buf.bytes.set(request);
 * buf.length = request.length;
 * callInto(cap, buf); // the reply is buf.bytes[0 .. buf.length), its label buf.label
 * ```
 *
 * The buffer is plain memory of this PD (never shared): the runtime copies between it and the endpoint's slot,
 * a fixed 64 bytes each way, and nothing the peer writes reaches it except through those copies. The bytes past
 * `length` are whatever the last copy left there, from this PD or its peer: read only `length` of them. A receive
 * copies a message in before its take commits, so after a receive that throws (a timeout, a message refused or
 * withdrawn while it was taken and nothing else arrived) `length`, `label` and the rest are unchanged but the bytes
 * are not: the buffer holds a message only once a receive returned.
 */

import { IpcError } from "../errors.ts";
import { INLINE_BYTES } from "../protocol/endpoint.ts";
import type { Capability } from "./capability.ts";

/** The capabilities of a message that carried none (shared: no allocation per message). */
export const NO_CAPS: readonly Capability[] = Object.freeze([]);

/** The runtime's access to a buffer's private state (set by MessageBuffer's static block). */
let bufferState: {
  /** True only for a buffer this class made (a brand check: `instanceof` is fooled by Object.create). */
  is(b: unknown): b is MessageBuffer;
  bytes(b: MessageBuffer): Uint8Array;
  slot(b: MessageBuffer): object | undefined;
  seq(b: MessageBuffer): number;
  endpoint(b: MessageBuffer): number;
  hold(b: MessageBuffer, slot: object | undefined, seq: number, endpoint: number): void;
};

export class MessageBuffer {
  /** The message's length in bytes (0 to 64): set it before sending; a receive or a reply sets it. */
  length = 0;
  /** The message's label (u32): set it before sending; a receive or a reply sets it. */
  label = 0;
  /** Set by a receive: the badge of the capability the message came through (seL4), never the sender's word. */
  badge = 0;
  /** Set by a receive: the sending PD's name, from the kernel's records. */
  sender = "";
  /** Set by a receive: the capabilities the message carried, now in this PD's space. */
  caps: readonly Capability[] = NO_CAPS;
  // Private, so a program cannot swap the memory the runtime copies into, or forge the right to answer a call.
  readonly #bytes = new Uint8Array(INLINE_BYTES);
  #slot: object | undefined = undefined;
  #seq = 0;
  #endpoint = 0;

  static {
    bufferState = {
      is: (b): b is MessageBuffer => typeof b === "object" && b !== null && #bytes in b,
      bytes: (b) => b.#bytes,
      slot: (b) => b.#slot,
      seq: (b) => b.#seq,
      endpoint: (b) => b.#endpoint,
      hold: (b, slot, seq, endpoint) => {
        b.#slot = slot;
        b.#seq = seq;
        b.#endpoint = endpoint;
      },
    };
  }

  /** The buffer's 64 bytes: write a message here, read one from here (its first `length` bytes). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** True while the buffer holds an unanswered call it received (answer it with `replyInto` or `replyRecvInto`). */
  get holdsCall(): boolean {
    return this.#slot !== undefined;
  }
}

/** @internal The runtime's side of a buffer (ipc/client.ts). Not part of any public entry point. */
export const messageBuffers = {
  /** The buffer's memory, after checking `buffer` is one and its length and label are in range. */
  checked(buffer: MessageBuffer, operation: string): Uint8Array {
    if (!bufferState.is(buffer)) {
      throw new IpcError("InvalidArgument", `${operation}: expected a MessageBuffer`, { operation });
    }
    const length = buffer.length;
    if (!Number.isInteger(length) || length < 0 || length > INLINE_BYTES) {
      throw new IpcError(
        typeof length === "number" && length > INLINE_BYTES ? "MessageTooLarge" : "InvalidArgument",
        `${operation}: the buffer's length must be an integer from 0 to ${INLINE_BYTES} (got ${String(length)})`,
        { operation },
      );
    }
    const label = buffer.label;
    if (!Number.isInteger(label) || label < 0 || label > 0xffff_ffff) {
      throw new IpcError("InvalidArgument", `${operation}: the buffer's label must be a u32 (got ${String(label)})`, { operation });
    }
    return bufferState.bytes(buffer);
  },
  /** True for a real MessageBuffer (never for an object that only looks like one). */
  is(buffer: unknown): buffer is MessageBuffer {
    return bufferState.is(buffer);
  },
  /** The buffer's memory, with no checks (the runtime writes a message it took into it). */
  bytes(buffer: MessageBuffer): Uint8Array {
    return bufferState.bytes(buffer);
  },
  /** The receiver's record of the slot whose call the buffer holds the right to answer (ipc/client.ts ReceiverSlot), if any. */
  heldSlot(buffer: MessageBuffer): object | undefined {
    return bufferState.slot(buffer);
  },
  heldSeq(buffer: MessageBuffer): number {
    return bufferState.seq(buffer);
  },
  heldEndpoint(buffer: MessageBuffer): number {
    return bufferState.endpoint(buffer);
  },
  /** Gives the buffer the right to answer a call (`slot` undefined: takes it away). */
  hold(buffer: MessageBuffer, slot: object | undefined, seq: number, endpoint: number): void {
    bufferState.hold(buffer, slot, seq, endpoint);
  },
};
