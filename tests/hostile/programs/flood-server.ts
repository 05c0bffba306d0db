// The honest server of the flood tests: answers the client's calls (every byte XOR 0x5a), takes whatever the
// attacker sends, closes every capability a message carries, and stops after the client's DONE message.
import { createEndpoint, debugPrintln, grantCap, isIpcError, protectionDomain, receive, reply, Rights, type Received } from "../../../src/index.ts";
import { answer, DONE_LABEL } from "./flood-common.ts";

export default protectionDomain({
  init() {
    const { cap } = createEndpoint();
    grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "ep" });
    try {
      grantCap(cap.derive(Rights.SEND | Rights.GRANT), "attacker", Rights.SEND, { name: "ep" });
    } catch (error) {
      debugPrintln(`grant to attacker: ${isIpcError(error) ? error.code : String(error)}`);
    }
    let client = 0;
    let wrong = 0;
    let attacker = 0;
    let caps = 0;
    let done = false;
    while (!done) {
      let m: Received;
      try {
        m = receive(cap, { timeout: 60_000 }); // a hang guard only
      } catch (error) {
        debugPrintln(`receive: ${isIpcError(error) ? error.code : String(error)}`);
        break;
      }
      for (const c of m.caps) {
        caps++;
        try {
          c.close();
        } catch {
          // already gone (revoked or moved away): nothing to close
        }
      }
      if (m.sender !== "client") {
        attacker++;
        if (m.reply !== undefined) reply(m.reply, m.data);
      } else if (m.reply !== undefined) {
        client++;
        reply(m.reply, answer(m.data));
      } else if (m.label === DONE_LABEL) {
        done = true;
      } else {
        wrong++;
      }
    }
    cap.close(); // closes the endpoint: an attacker still sending gets EndpointClosed
    debugPrintln(`served client=${client} wrong=${wrong} done=${done} attacker>0=${attacker > 0} caps>0=${caps > 0}`);
  },
});
