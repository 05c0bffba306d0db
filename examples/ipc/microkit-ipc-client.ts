// The client of the seL4 Microkit IPC tutorial (seed 000), in TypeScript: on init it notifies the server;
// when the server notifies back, it makes a protected call with data in the message registers.
import { Channel, debugPrintln, getMr, MessageInfo, protectionDomain, setMr } from "isokit/microkit";

const SERVER = new Channel(13);

export default protectionDomain({
  init() {
    debugPrintln("init, notifying the server");
    SERVER.notify();
  },

  notified(channels) {
    if (!channels.has(SERVER)) throw new Error(`client: unexpected notification on ${channels.toString()}`);
    const a = 6;
    const b = 7;
    setMr(0, a);
    setMr(1, b);
    debugPrintln(`ppcall label=1 (multiply) with MR0=${a} MR1=${b}`);
    const reply = SERVER.ppcall(new MessageInfo(1, 2));
    debugPrintln(`reply label=${reply.label} count=${reply.count} MR0=${getMr(0)}`);
  },
});
