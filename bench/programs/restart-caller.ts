// restart.pd's caller: each time the server (tests/programs/supervision/member.ts, named "server") notifies
// from a new generation's init(), calls it once (label 0: answered with its generation, printed) and then
// makes it fault (label 1), so the policy restarts it again: one fault -> restart -> answer per cycle.
import { Channel, debugPrintln, getMr, MessageInfo, protectionDomain } from "../../src/index.ts";

const SERVER = new Channel(1);

export default protectionDomain({
  notified() {
    try {
      SERVER.ppcall(new MessageInfo(0, 0));
      debugPrintln(`answered ${getMr(0)}`);
      SERVER.ppcall(new MessageInfo(1, 0));
    } catch {
      // PeerRestarted: the fault this cycle wanted
    }
  },
});
