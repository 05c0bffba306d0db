// A supervised PD: counts its generations in the shared region "gen" (one byte per PD, kept across restarts
// unless the policy zeroes regions) and prints each start. Its protected() answers with that count in MR0
// (label 0) or throws (label 1). The PD named "b" first ppcalls channels 1 and 2 (so their PDs are running),
// then faults in init() in its first generation ("b-always": in every generation). The PD named "server"
// notifies channel 1 (its caller) from every generation's init().
import { Channel, debugPrintln, memoryRegion, MessageInfo, pdName, protectionDomain, setMr } from "../../../src/index.ts";

const SLOT: Record<string, number> = { a: 0, b: 1, c: 2, server: 3, worker: 4, "b-always": 5 };

function generation(): number {
  const bytes = memoryRegion("gen").writableBytes();
  const slot = SLOT[pdName()] ?? 7;
  bytes[slot] = (bytes[slot] ?? 0) + 1;
  return bytes[slot] ?? 0;
}

export default protectionDomain({
  count: 0,
  init() {
    this.count = generation();
    debugPrintln(`init ${this.count}`);
    const name = pdName();
    if (name === "server") new Channel(1).notify(); // its caller calls again on every generation
    if (name === "b" || name === "b-always") {
      new Channel(1).ppcall(new MessageInfo(0, 0));
      new Channel(2).ppcall(new MessageInfo(0, 0));
      if (name === "b-always" || this.count === 1) throw new Error(`${name} fails in generation ${this.count}`);
    }
  },
  protected(_channel, info) {
    if (info.label === 1) throw new Error(`asked to fail in generation ${this.count}`);
    setMr(0, this.count);
    return new MessageInfo(0, 1);
  },
});
