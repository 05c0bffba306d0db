import { Channel, memoryRegion, protectionDomain } from "../../src/index.ts";

const READER = new Channel(0);

export default protectionDomain({
  init() {
    const region = memoryRegion("buf");
    region.writableBytes().set(new TextEncoder().encode("hello through a region"));
    READER.notify();
  },
});
