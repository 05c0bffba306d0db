// Benchmark client for region.1mib.rtt: a 1 MiB payload passed by reference. Client and server both map the
// memory region `payload`; each protected call carries (offset, length) in two registers, and the server reads
// the payload in place (its first and last byte) and answers. Prints one JSON line: mean µs per round trip.
import { Channel, debugPrintln, getMr, memoryRegion, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

const SERVER = new Channel(0);
const iterations = Number(process.env["ISOKIT_BENCH_ITERATIONS"] ?? 100_000);
const MIB = 1 << 20;

function round(n: number): number {
  const info = new MessageInfo(1, 2);
  const payload = memoryRegion("payload").writableBytes();
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    payload[0] = i & 0xff; // the payload changes every call: the server must see this call's data
    setMr(0, 0);
    setMr(1, MIB);
    SERVER.ppcall(info);
    if (getMr(0) !== (i & 0xff) + 7) throw new Error(`bad reply ${getMr(0)} to call ${i}`);
  }
  return ((performance.now() - start) * 1000) / n;
}

export default protectionDomain({
  init() {
    memoryRegion("payload").writableBytes().fill(7, 1); // touch every page once
    round(iterations); // warm-up
    debugPrintln(JSON.stringify({ case: "region", rounds: [round(iterations)] }));
  },
});
