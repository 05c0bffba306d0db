// A restartable server that also hands out a capability at run time: every generation creates an endpoint,
// grants its client a SEND capability to it under the name `ep<generation>`, then notifies the client
// (channel 1). Its protected() throws (label 1). The generation is counted in the region "gen".
import { Channel, createEndpoint, grantCap, memoryRegion, protectionDomain, Rights } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    const bytes = memoryRegion("gen").writableBytes();
    bytes[0] = (bytes[0] ?? 0) + 1;
    const { cap } = createEndpoint();
    grantCap(cap, "client", Rights.SEND, { name: `ep${bytes[0]}` });
    new Channel(1).notify();
  },
  protected() {
    throw new Error("asked to fail");
  },
});
