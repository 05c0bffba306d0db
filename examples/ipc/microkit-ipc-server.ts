// The server of the seL4 Microkit IPC tutorial (seed 000): answers the client's notification with one of
// its own, and serves protected calls: label 1 multiplies MR0 by MR1.
import { Channel, debugPrintln, getMr, MessageInfo, protectionDomain, setMr, type ChannelSet } from "isokit/microkit";

const CLIENT = new Channel(37);
const MULTIPLY = 1;
const ERROR_UNKNOWN_LABEL = 0xff;

export default protectionDomain({
  init() {
    debugPrintln("init");
  },

  notified(channels: ChannelSet) {
    debugPrintln(`notified on ${channels.toString()}, notifying the client back`);
    CLIENT.notify();
  },

  protected(channel: Channel, msgInfo: MessageInfo): MessageInfo {
    debugPrintln(`protected call on ${channel.toString()} with ${msgInfo.toString()}`);
    if (msgInfo.label !== MULTIPLY || msgInfo.count < 2) return new MessageInfo(ERROR_UNKNOWN_LABEL, 0);
    setMr(0, getMr(0) * getMr(1));
    return new MessageInfo(0, 1);
  },
});
