// The server: reads the string field of both clients' regions, alternately, through two views of one layout,
// while the hostile client rewrites its own. Every value it reads from the honest region must be GUEST, and
// every value from the hostile region must be made of bytes the hostile wrote there.
import { debugPrintln, isIpcError, memoryRegion, protectionDomain } from "../../../src/index.ts";
import { CTL, GUEST, madeOfWrittenBytes, Name, VALUE_AT } from "./layout-names.ts";

/** Reads to make at least, and hostile writes to overlap at least, before stopping (the hang guard is MAX_READS). */
const MIN_READS = 100_000;
const MIN_RACING_WRITES = 20_000;
const MAX_READS = 5_000_000;

export default protectionDomain({
  notified() {
    const honest = Name.view(memoryRegion("honest").bytes as Uint8Array, VALUE_AT, false);
    const hostileBytes = memoryRegion("hostile").writableBytes();
    const hostile = Name.view(hostileBytes, VALUE_AT, false);
    const ctl = new Int32Array(hostileBytes.buffer, 0, 16);
    for (let i = 0; i < 200 && Atomics.load(ctl, CTL.READY) === 0; i++) Atomics.wait(ctl, CTL.READY, 0, 50); // hang guard 10 s
    const writesBefore = Atomics.load(ctl, CTL.WRITES);
    let reads = 0;
    let honestWrong = 0;
    let firstWrong = "";
    let hostileForeign = 0;
    let other = "";
    while (reads < MAX_READS && (reads < MIN_READS || Atomics.load(ctl, CTL.WRITES) - writesBefore < MIN_RACING_WRITES)) {
      reads++;
      try {
        if (!madeOfWrittenBytes(hostile.name)) hostileForeign++;
      } catch (error) {
        // A length torn by the race may be refused; that is a typed error, and allowed.
        if (!isIpcError(error, "InvalidMessage")) other ||= String(error);
      }
      const text = honest.name;
      if (text !== GUEST) {
        honestWrong++;
        firstWrong ||= text.slice(0, 5);
      }
    }
    const racing = Atomics.load(ctl, CTL.WRITES) - writesBefore;
    Atomics.store(ctl, CTL.STOP, 1);
    debugPrintln(`racing=${racing >= MIN_RACING_WRITES} honestWrong=${honestWrong}${firstWrong === "" ? "" : ` (${firstWrong})`} hostileForeign=${hostileForeign} untyped=${other || "none"}`);
  },
});
