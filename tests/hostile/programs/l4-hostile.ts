// A hostile client: writes registers no stub would (words above 2^53, requests whose reply overflows, typed
// words a service does not take, lends at impossible offsets, sizes and modes) and reports what came back. A
// server that faults answers the rest with an error, which this program reports too. Then it tells the honest
// client to go on.
import { Channel, debugPrintln, getMrBig, isIpcError, MessageInfo, MsgTag, protectionDomain, setMr } from "../../../src/index.ts";
import { Add, Counter } from "./l4-shared.ts";

const L4 = new Channel(1);
const LEND = new Channel(2);
const HONEST = new Channel(5);
const BIG = 2n ** 60n;

function attempt(what: string, call: () => string): void {
  try {
    debugPrintln(`${what}: ${call()}`);
  } catch (error) {
    debugPrintln(`${what}: threw ${isIpcError(error) ? error.code : String(error)}`);
  }
}

/** An L4 request of `untyped` words and `typed` typed words with `words` in MR1..; the reply's tag and MR1. */
function l4(words: readonly bigint[], untyped = words.length, typed = 0): string {
  setMr(0, new MsgTag({ label: Add.label, untyped, typed }).encode());
  words.forEach((w, i) => { setMr(1 + i, w); });
  L4.ppcall(new MessageInfo(Add.label, 1 + untyped + typed));
  const tag = MsgTag.decode(getMrBig(0));
  return tag.error ? `error ${getMrBig(1)}` : `sum ${getMrBig(1)}`;
}

/** A lend whose registers are `regs` (signature, offset, size, mutable); the reply's label. */
function lendRegs(regs: readonly bigint[]): string {
  regs.forEach((w, i) => { setMr(i, w); });
  return `label ${LEND.ppcall(new MessageInfo(1, regs.length)).label}`;
}

const sig = Counter.signature;
const size = BigInt(Counter.size);

export default protectionDomain({
  init() {
    attempt("a word above 2^53", () => l4([BIG, 1n]));
    attempt("a word of 2^64-1", () => l4([2n ** 64n - 1n, 2n ** 64n - 1n]));
    attempt("a reply above 2^53", () => l4([2n ** 52n, 2n ** 52n]));
    attempt("typed words to a service that takes none", () => l4([1n, 2n, 0n, 0n, 0n], 2, 3));
    attempt("a lend at offset 2^60", () => lendRegs([sig, BIG, size, 0n]));
    attempt("a lend of size 2^60", () => lendRegs([sig, 0n, BIG, 0n]));
    attempt("a lend whose mode word is 2^60", () => lendRegs([sig, 0n, size, BIG]));
    attempt("a lend whose mode word is 2", () => lendRegs([sig, 0n, size, 2n]));
    attempt("a mutable lend of a region the server maps read-only", () => lendRegs([sig, 0n, size, 1n]));
    attempt("a lend at the region's last byte", () => lendRegs([sig, 4095n, size, 0n]));
    HONEST.notify();
  },
});
