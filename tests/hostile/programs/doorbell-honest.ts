// An honest PD that sleeps on its doorbell with nothing to do. Notified by 'sender' (channel 2), it reports it,
// answers sender and releases 'mallory' (channel 1), whose attack on its doorbell then ends.
import { Channel, debugPrintln, protectionDomain } from "../../../src/index.ts";

const MALLORY = new Channel(1);
const SENDER = new Channel(2);

export default protectionDomain({
  notified(channels) {
    if (!channels.has(SENDER)) return;
    debugPrintln("notified by sender");
    MALLORY.notify();
    SENDER.notify();
  },
});
