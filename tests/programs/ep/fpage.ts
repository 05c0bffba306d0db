// Typed items (L4 fpages): a region mapped or granted in a protected call goes through the kernel's grant, so the
// callee gets a capability in its own space; `grant` moves the caller's.
import {
  Channel,
  capabilityFromToken,
  createRegion,
  debugPrintln,
  getMr,
  getRegionItem,
  mapRegion,
  MessageInfo,
  MsgTag,
  pdName,
  protectionDomain,
  putRegionItem,
  Rights,
  send,
  setMr,
} from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

const SERVER = new Channel(0);

function client(): void {
  const { cap, region } = createRegion(4096);
  region.writableBytes().set(enc("fpage payload"), 100);
  for (const kind of ["map", "grant"] as const) {
    setMr(0, new MsgTag({ label: 7, untyped: 0, typed: 3 }).encode());
    putRegionItem(1, { kind, region: cap, to: "server", offset: 100, size: 13, rights: Rights.RECEIVE });
    SERVER.ppcall(new MessageInfo(7, 4));
    debugPrintln(`${kind}: server read ${getMr(0)} bytes; my capability ${cap.closedAt === undefined ? "still works" : "moved"}`);
    if (kind === "map") expectCode("a map with more rights than the capability has", () => {
      putRegionItem(1, { kind: "map", region: cap.derive(Rights.RECEIVE | Rights.GRANT), to: "server", offset: 0, size: 1, rights: Rights.RECEIVE | Rights.SEND });
    });
  }
  expectCode("send through a moved capability", () => { send(cap, enc("x")); });
}

export default protectionDomain({
  init() {
    if (pdName() === "client") client();
  },
  protected(_channel, info) {
    const tag = MsgTag.decode(BigInt(getMr(0)));
    const item = getRegionItem(1);
    const view = mapRegion(capabilityFromToken(item.token));
    debugPrintln(`${tag.toString()}: ${item.kind} of (${item.offset}, ${item.size}) rights=${item.rights}: '${dec(view.bytes.slice(item.offset, item.offset + item.size))}' writable=${view.writable}`);
    setMr(0, item.size);
    return new MessageInfo(info.label, 1);
  },
});
