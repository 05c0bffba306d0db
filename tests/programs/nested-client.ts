import { Channel, debugPrintln, getMr, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

const MIDDLE = new Channel(3);

export default protectionDomain({
  init() {
    setMr(0, 4);
    const reply = MIDDLE.ppcall(new MessageInfo(7, 1));
    debugPrintln(`nested reply label=${reply.label} MR0=${getMr(0)}`);
  },
});
