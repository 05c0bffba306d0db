/**
 * A PD's private IPC buffer: the 64 message registers `getMr`/`setMr` read and write. It is ordinary,
 * unshared memory: messages are copied in from a channel buffer when they arrive and out when they are sent,
 * `count` words each way (seL4 copies between IPC buffers the same way). Because the copy is private, a peer
 * that keeps writing to the shared channel buffer cannot change a message its receiver is already reading.
 *
 * Three views over one ArrayBuffer: `u32` for the copy loops (two 32-bit halves per register, little-endian),
 * `words` for 64-bit access, `bytes` for `withMsgBytes`.
 */

import { IpcError } from "../errors.ts";
import { MR_BYTES, MR_COUNT } from "../protocol/layout.ts";

const TWO_POW_32 = 2 ** 32;

export class IpcBuffer {
  readonly bytes = new Uint8Array(MR_BYTES);
  /** The runtime's own views, never given to a program. */
  readonly u32 = new Uint32Array(this.bytes.buffer);
  readonly words = new BigUint64Array(this.bytes.buffer);

  /** Register `index` as a number; throws if it holds more than 2^53 - 1 (use `getMrBig`). */
  get(index: number): number {
    checkIndex("getMr", index);
    const hi = this.u32[2 * index + 1]!;
    if (hi >= 0x20_0000) {
      throw new IpcError(
        "InvalidArgument",
        `getMr: register ${index} holds ${String(this.words[index])}, above Number.MAX_SAFE_INTEGER; use getMrBig`,
        { operation: "getMr" },
      );
    }
    return hi * TWO_POW_32 + this.u32[2 * index]!;
  }

  getBig(index: number): bigint {
    checkIndex("getMrBig", index);
    return this.words[index]!;
  }

  /** Sets register `index` to an unsigned 64-bit value: a safe non-negative integer or a bigint < 2^64. */
  set(index: number, value: number | bigint): void {
    checkIndex("setMr", index);
    if (typeof value === "number" && (value >>> 0) === value) {
      // The common case, a value that fits 32 bits: two stores, no division.
      this.u32[2 * index] = value;
      this.u32[2 * index + 1] = 0;
      return;
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new IpcError(
          "InvalidArgument",
          `setMr: register ${index} takes a non-negative safe integer or a bigint, got ${String(value)}`,
          { operation: "setMr" },
        );
      }
      this.u32[2 * index] = value >>> 0;
      this.u32[2 * index + 1] = Math.floor(value / TWO_POW_32);
      return;
    }
    if (typeof value !== "bigint" || value < 0n || value >= 1n << 64n) {
      throw new IpcError("InvalidArgument", `setMr: register ${index} takes an unsigned 64-bit value, got ${String(value)}`, {
        operation: "setMr",
      });
    }
    this.words[index] = value;
  }
}

function checkIndex(operation: string, index: number): void {
  // `>>> 0` leaves only integers 0..2^32-1 unchanged: one comparison rejects fractions, negatives and NaN.
  if (index >>> 0 !== index || index >= MR_COUNT) {
    throw new IpcError("InvalidArgument", `${operation}: register index must be 0..${MR_COUNT - 1}, got ${String(index)}`, {
      operation,
    });
  }
}
