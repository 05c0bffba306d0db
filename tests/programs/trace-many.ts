// For tests/trace.test.ts (sampled tracing): "client" makes 130 ppcalls to "server" on channel 0 in init().
import { Channel, MessageInfo, pdName, protectionDomain, setMr } from "../../src/index.ts";

export default protectionDomain({
  init() {
    if (pdName() !== "client") return;
    const server = new Channel(0);
    for (let i = 0; i < 130; i++) {
      setMr(0, i);
      server.ppcall(new MessageInfo(1, 1));
    }
  },
  protected(_channel, info) {
    return new MessageInfo(info.label, 0);
  },
});
