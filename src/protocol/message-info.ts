/**
 * `MessageInfo`: the tag of a message, as seL4's `seL4_MessageInfo_t` / Microkit's `microkit_msginfo` /
 * L4's `MsgTag`: a label the receiver interprets freely, and `count`, how many message registers carry data.
 *
 * Widths, against seL4 (64-bit):
 *   seL4 packs label:52 | capsUnwrapped:3 | extraCaps:2 | length:7 into one word, and its IPC buffer holds
 *   seL4_MsgMaxLength = 120 message registers; Microkit promises a PD 64 of them (MICROKIT_MAX_MRS... in
 *   practice `seL4_MsgMaxLength`, but portable Microkit code assumes 64).
 *   isokit keeps the 52-bit label (it is exactly representable in a JS number: 52 < 53) and limits `count`
 *   to 64 registers of 64 bits (512 bytes): the Microkit promise, not seL4's 120, so every channel buffer
 *   has the same fixed size. Capability transfer does not travel in the tag (see the capabilities issue),
 *   so the caps fields have no equivalent.
 */

import { IpcError } from "../errors.ts";
import { MR_COUNT } from "./layout.ts";

/** Largest label: 2^52 - 1, seL4's label width. */
export const MAX_LABEL = 2 ** 52 - 1;

export class MessageInfo {
  readonly label: number;
  readonly count: number;

  /**
   * @param label 0..2^52-1, an integer
   * @param count number of message registers that carry data, 0..64
   * @throws IpcError `InvalidArgument` for a bad label or a negative / fractional count,
   *   `MessageTooLarge` for a count above 64
   */
  constructor(label = 0, count = 0) {
    if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
      throw new IpcError("InvalidArgument", `MessageInfo: label must be an integer in 0..2^52-1, got ${String(label)}`, {
        operation: "MessageInfo",
      });
    }
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
      throw new IpcError("InvalidArgument", `MessageInfo: count must be an integer in 0..${MR_COUNT}, got ${String(count)}`, {
        operation: "MessageInfo",
      });
    }
    if (count > MR_COUNT) {
      throw new IpcError(
        "MessageTooLarge",
        `MessageInfo: count ${count} exceeds the ${MR_COUNT} message registers a message can carry`,
        { operation: "MessageInfo" },
      );
    }
    this.label = label;
    this.count = count;
  }

  /** The message length in bytes (`count` words of 8 bytes), as `with_msg_bytes` sees it. */
  get byteLength(): number {
    return this.count * 8;
  }

  equals(other: MessageInfo): boolean {
    return this.label === other.label && this.count === other.count;
  }

  toString(): string {
    return `MessageInfo(label=${this.label}, count=${this.count})`;
  }
}
