// Test server (priority 200): end 37 (client end 13, pp) and end 38 (client end 14, no pp).
import { Channel, debugPrintln, getMr, IpcError, MessageInfo, protectionDomain, setMr } from "../../src/index.ts";

const CLIENT = new Channel(37);
const CLIENT_SIDE = new Channel(38);

export const Label = {
  MULTIPLY: 1,
  SHOW_BEYOND_COUNT: 2,
  THROW: 3,
  EXIT: 4,
  NOTIFY_MANY: 5,
  DEFERRED: 6,
  DEFERRED_TWICE: 7,
} as const;

export default protectionDomain({
  notified(channels) {
    debugPrintln(`notified ${channels.toString()}`);
  },

  protected(channel, info) {
    switch (info.label) {
      case Label.MULTIPLY:
        setMr(0, getMr(0) * getMr(1));
        return new MessageInfo(0, 1);
      case Label.SHOW_BEYOND_COUNT:
        // The caller set MR0..MR3 but sent count 2: MR2 and MR3 must not be the caller's values.
        debugPrintln(`saw count=${info.count} MR0=${getMr(0)} MR1=${getMr(1)} MR2=${getMr(2)} MR3=${getMr(3)}`);
        setMr(0, 500);
        setMr(1, 501); // beyond the reply's count: must not reach the caller
        return new MessageInfo(0, 1);
      case Label.THROW:
        throw new Error("boom from server");
      case Label.EXIT:
        process.exit(3);
      // falls through: process.exit does not return
      case Label.NOTIFY_MANY:
        for (let i = 0; i < 10; i++) {
          CLIENT.notify();
          CLIENT_SIDE.notify();
        }
        return new MessageInfo(0, 0);
      case Label.DEFERRED:
        CLIENT.deferredNotify();
        return new MessageInfo(0, 0);
      case Label.DEFERRED_TWICE:
        CLIENT.deferredNotify();
        try {
          CLIENT_SIDE.deferredNotify();
          return new MessageInfo(0, 0);
        } catch (error) {
          return new MessageInfo(error instanceof IpcError && error.code === "ResourceBusy" ? 1 : 2, 0);
        }
      default:
        debugPrintln(`unknown label ${info.label} on ${channel.toString()}`);
        return new MessageInfo(0xff, 0);
    }
  },
});
