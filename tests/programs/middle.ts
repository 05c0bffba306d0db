// Nested ppcall (priority 150): serves the client on channel 2, and from inside protected() calls the top
// PD on channel 1.
import { Channel, getMr, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

const TOP = new Channel(1);

export default protectionDomain({
  protected(_channel, info) {
    setMr(0, getMr(0) + 1);
    const reply = TOP.ppcall(new MessageInfo(info.label, 1));
    setMr(0, getMr(0) * 2);
    return new MessageInfo(reply.label + 1, 1);
  },
});
