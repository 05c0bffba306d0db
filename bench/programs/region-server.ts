// Benchmark server for region.1mib.rtt: reads the (offset, length) the caller names, checks it against the
// region, and answers first byte + last byte of the payload, read in place.
import { getMr, memoryRegion, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

export default protectionDomain({
  protected(_channel, info) {
    const region = memoryRegion("payload").bytes;
    const offset = getMr(0);
    const length = getMr(1);
    if (offset + length > region.length || length === 0) return new MessageInfo(1, 0); // a bad reference is refused
    setMr(0, region[offset]! + region[offset + length - 1]!);
    return new MessageInfo(info.label, 1);
  },
});
