// Benchmark server: echoes MR0 + 1 for ppcalls, notifies back for notifications.
import { Channel, getMr, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

const CLIENT = new Channel(1);

export default protectionDomain({
  notified() {
    CLIENT.notify();
  },
  protected(_channel, info) {
    setMr(0, getMr(0) + 1);
    return new MessageInfo(info.label, 1);
  },
});
