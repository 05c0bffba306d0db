// A hostile server and its client, one program: the server answers the Add service's requests with replies no
// honest server sends (selected by the request's `a`); the client calls through the stub and reports what it got.
import { Channel, debugPrintln, getMrBig, isIpcError, MessageInfo, MsgTag, pdName, protectionDomain, setMr } from "../../../src/index.ts";
import { Add } from "./l4-shared.ts";

const lies: readonly [string, () => MessageInfo][] = [
  ["a tag claiming more words than the reply carries", () => {
    setMr(0, new MsgTag({ label: Add.label, untyped: 1, typed: 0 }).encode());
    return new MessageInfo(Add.label, 1); // MR1 would be the client's own request word
  }],
  ["a word above 2^53", () => {
    setMr(0, new MsgTag({ label: Add.label, untyped: 1, typed: 0 }).encode());
    setMr(1, 2n ** 63n);
    return new MessageInfo(Add.label, 2);
  }],
  ["another service's label", () => {
    setMr(0, new MsgTag({ label: Add.label + 1, untyped: 1, typed: 0 }).encode());
    setMr(1, 3);
    return new MessageInfo(Add.label, 2);
  }],
  ["an error code above 2^53", () => {
    setMr(0, new MsgTag({ label: Add.label, untyped: 1, typed: 0, error: true }).encode());
    setMr(1, 2n ** 60n);
    return new MessageInfo(Add.label, 2);
  }],
  ["no registers", () => new MessageInfo(Add.label, 0)],
];

export default protectionDomain({
  init() {
    if (pdName() !== "client") return;
    const add = Add.client(new Channel(1));
    lies.forEach(([what], i) => {
      try {
        debugPrintln(`${what}: sum ${add.call({ a: i, b: 1 }).sum}`);
      } catch (error) {
        debugPrintln(`${what}: ${isIpcError(error) ? error.code : `untyped ${String(error)}`}`);
      }
    });
  },
  protected() {
    // The request's `a` (MR1) picks the lie; the MsgTag in MR0 is the stub's.
    return lies[Number(getMrBig(1))]![1]();
  },
});

