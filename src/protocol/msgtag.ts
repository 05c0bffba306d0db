/**
 * L4's message tag (`L4_MsgTag_t`, L4 X.2 on 64-bit), carried in MR0 of an L4-style message:
 *
 *   bits  0..5   u      untyped words that follow the tag (MR1..MRu)
 *   bits  6..11  t      typed words after them (each typed item is TYPED_ITEM_WORDS words)
 *   bit  12      p      propagated
 *   bit  13      r      redirected
 *   bit  14      X      cross-CPU
 *   bit  15      E      error: the message is an error reply (MR1 holds a `ServiceError` code)
 *   bits 16..63  label  48 bits: the service (or, in an error reply, the label that was refused)
 *
 * With the tag in MR0, u + t ≤ 63, so a message fits the 64 registers of a Microkit PD.
 */

import { IpcError } from "../errors.ts";

export const MsgTagFlag = {
  PROPAGATED: 1 << 12,
  REDIRECTED: 1 << 13,
  CROSS_CPU: 1 << 14,
  ERROR: 1 << 15,
} as const;

/** The largest label a tag carries: 48 bits. */
export const MAX_TAG_LABEL = 2 ** 48 - 1;

/** Words of one typed item (the fpage analogue): [kind | rights << 8, capability token, offset * 2^32 + size]. */
export const TYPED_ITEM_WORDS = 3;

/** Error codes of an error reply (E flag set), in its MR1. */
export const ServiceError = {
  /** No service of this label is served here. */
  UNKNOWN_LABEL: 1,
  /** The request had fewer (or more) untyped words than the service's layout. */
  BAD_LENGTH: 2,
  /** The service's handler threw; the request was not carried out (or only in part). */
  HANDLER_FAILED: 3,
} as const;

export interface MsgTagFields {
  readonly label: number;
  readonly untyped: number;
  readonly typed: number;
  readonly propagated?: boolean;
  readonly redirected?: boolean;
  readonly crossCpu?: boolean;
  readonly error?: boolean;
}

export class MsgTag {
  readonly label: number;
  readonly untyped: number;
  readonly typed: number;
  readonly propagated: boolean;
  readonly redirected: boolean;
  readonly crossCpu: boolean;
  readonly error: boolean;

  constructor(fields: MsgTagFields) {
    const { label, untyped, typed } = fields;
    if (!Number.isInteger(label) || label < 0 || label > MAX_TAG_LABEL) {
      throw new IpcError("InvalidArgument", `MsgTag: label must be an integer in 0..2^48-1, got ${String(label)}`, { operation: "MsgTag" });
    }
    if (!Number.isInteger(untyped) || !Number.isInteger(typed) || untyped < 0 || typed < 0 || untyped + typed > 63) {
      throw new IpcError("MessageTooLarge", `MsgTag: ${untyped} untyped and ${typed} typed words do not fit 63 registers after the tag`, {
        operation: "MsgTag",
      });
    }
    this.label = label;
    this.untyped = untyped;
    this.typed = typed;
    this.propagated = fields.propagated === true;
    this.redirected = fields.redirected === true;
    this.crossCpu = fields.crossCpu === true;
    this.error = fields.error === true;
  }

  /** The tag as the 64-bit word of MR0. */
  encode(): bigint {
    let low = this.untyped | (this.typed << 6);
    if (this.propagated) low |= MsgTagFlag.PROPAGATED;
    if (this.redirected) low |= MsgTagFlag.REDIRECTED;
    if (this.crossCpu) low |= MsgTagFlag.CROSS_CPU;
    if (this.error) low |= MsgTagFlag.ERROR;
    return (BigInt(this.label) << 16n) | BigInt(low);
  }

  /** Reads MR0. Throws `InvalidMessage` for counts that do not fit (a word from an untrusted sender). */
  static decode(word: bigint): MsgTag {
    const low = Number(word & 0xffffn);
    const untyped = low & 0x3f;
    const typed = (low >> 6) & 0x3f;
    if (untyped + typed > 63) {
      throw new IpcError("InvalidMessage", `MsgTag: ${untyped} untyped and ${typed} typed words do not fit a message`, { operation: "MsgTag" });
    }
    return new MsgTag({
      label: Number(word >> 16n),
      untyped,
      typed,
      propagated: (low & MsgTagFlag.PROPAGATED) !== 0,
      redirected: (low & MsgTagFlag.REDIRECTED) !== 0,
      crossCpu: (low & MsgTagFlag.CROSS_CPU) !== 0,
      error: (low & MsgTagFlag.ERROR) !== 0,
    });
  }

  /** Registers the message uses: the tag, the untyped words and the typed words. */
  get count(): number {
    return 1 + this.untyped + this.typed;
  }

  toString(): string {
    const flags = [this.propagated && "p", this.redirected && "r", this.crossCpu && "X", this.error && "E"].filter(Boolean).join("");
    return `MsgTag(label=0x${this.label.toString(16)}, u=${this.untyped}, t=${this.typed}${flags === "" ? "" : `, ${flags}`})`;
  }
}
