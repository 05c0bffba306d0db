// A restartable endpoint server: every generation counts itself in the region "gen", creates an endpoint,
// serves it (a call "fail" throws in the handler, which faults the PD; any other call is answered with the
// generation), grants its client a SEND capability to it under the name `ep<generation>`, then notifies the
// client (channel 1).
import { Channel, createEndpoint, grantCap, memoryRegion, protectionDomain, Rights, serve } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    const bytes = memoryRegion("gen").writableBytes();
    const generation = (bytes[0] = (bytes[0] ?? 0) + 1);
    const { cap } = createEndpoint();
    serve(cap, (message) => {
      if (new TextDecoder().decode(message.data) === "fail") throw new Error(`asked to fail in generation ${generation}`);
      return new Uint8Array([generation]);
    });
    grantCap(cap, "client", Rights.SEND, { name: `ep${generation}` });
    new Channel(1).notify();
  },
});
