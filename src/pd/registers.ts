/**
 * Message registers of the running PD (libmicrokit `microkit_mr_get/set`, rust-sel4 `get_mr`, `set_mr`,
 * `with_msg_regs(_mut)`, `with_msg_bytes(_mut)`). They act on the PD's private IPC buffer: what a
 * `protected()` reads is a copy of the caller's first `count` registers, what `ppcall` returns with is a copy
 * of the callee's reply registers.
 *
 * Registers are unsigned 64-bit words. `getMr` returns a number and throws `InvalidArgument` if the word is
 * above `Number.MAX_SAFE_INTEGER`; `getMrBig` returns a bigint and never throws for a valid index. `setMr`
 * takes either.
 *
 * In `protected()` (and after a `ppcall` returns) every register is the other PD's choice, hostile or not: a
 * `getMr` there that lets its error out of `protected()` faults this PD on the caller's say-so. Read untrusted
 * words with `getMrBig` and range-check them, or catch, and answer the caller with an error reply; `serveL4`
 * and `acceptLend` do this for you.
 */

import { currentPd } from "./context.ts";

/** A read-only view of the 64 registers (the type forbids writes; the array is the live buffer). */
export type ReadonlyMessageRegisters = Omit<BigUint64Array, "set" | "fill" | "copyWithin" | "reverse" | "sort"> & {
  readonly [index: number]: bigint;
};
export type ReadonlyMessageBytes = Omit<Uint8Array, "set" | "fill" | "copyWithin" | "reverse" | "sort"> & {
  readonly [index: number]: number;
};

export function getMr(index: number): number {
  return currentPd("getMr").ipc.get(index);
}

export function getMrBig(index: number): bigint {
  return currentPd("getMrBig").ipc.getBig(index);
}

export function setMr(index: number, value: number | bigint): void {
  currentPd("setMr").ipc.set(index, value);
}

/** Calls `f` with the 64 registers as 64-bit words. Do not keep the array: the next message overwrites it. */
export function withMsgRegs<T>(f: (regs: ReadonlyMessageRegisters) => T): T {
  return f(currentPd("withMsgRegs").ipc.words);
}

export function withMsgRegsMut<T>(f: (regs: BigUint64Array) => T): T {
  return f(currentPd("withMsgRegsMut").ipc.words);
}

/** Calls `f` with the registers as 512 bytes (little-endian words). */
export function withMsgBytes<T>(f: (bytes: ReadonlyMessageBytes) => T): T {
  return f(currentPd("withMsgBytes").ipc.bytes);
}

export function withMsgBytesMut<T>(f: (bytes: Uint8Array) => T): T {
  return f(currentPd("withMsgBytesMut").ipc.bytes);
}

/** One line of output, prefixed with the PD's name by the kernel (Microkit's `microkit_dbg_puts` + newline). */
export function debugPrintln(...parts: unknown[]): void {
  currentPd("debugPrintln").output(parts.map((p) => (typeof p === "string" ? p : String(p))).join(" "));
}

/** The running PD's name, as the system description gives it (rust-sel4 `pd_name()`). */
export function pdName(): string {
  return currentPd("pdName").name;
}
