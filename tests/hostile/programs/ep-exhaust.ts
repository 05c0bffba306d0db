// Findings 12 and 13: a SEND-only client ("attacker") uses up what it can of the server's endpoint: its
// generations (derive and close, 66,000 times: ep-exhaust-generations.ts) or its slots (1,100 capabilities
// connected: ep-exhaust-slots.ts). Then it says "done", and the server must still be able to derive and grant
// the endpoint to another client ("honest"), whose call it answers.
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, Rights } from "../../../src/index.ts";
import { codeOf, dec, enc, expectCode } from "./ep-common.ts";

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "attacker", Rights.SEND, { name: "ep" });
  let other = 0;
  try {
    for (;;) {
      const m = receive(cap, { timeout: 60_000 });
      if (m.sender === "attacker" && dec(m.data) === "done") break;
      other++;
    }
  } catch (error) {
    debugPrintln(`waiting for the attacker: ${codeOf(error)}`);
    return;
  }
  debugPrintln(`the attacker is done (${other} of its messages taken before)`);
  const code = expectCode("derive and grant to honest after the attack", () => grantCap(cap.derive(Rights.SEND | Rights.GRANT), "honest", Rights.SEND, { name: "ep" }));
  if (code !== "ok") return;
  try {
    for (;;) {
      const m = receive(cap, { timeout: 20_000 });
      if (m.sender !== "honest") continue;
      reply(m.reply!, enc(`pong ${dec(m.data)}`));
      debugPrintln("answered honest");
      return;
    }
  } catch (error) {
    debugPrintln(`waiting for honest: ${codeOf(error)}`);
  }
}

function honest(): void {
  try {
    const ep = lookupCapability("ep", { timeout: 60_000 });
    debugPrintln(`reply ${dec(call(ep, enc("ping"), { timeout: 20_000 }).data)}`);
  } catch (error) {
    debugPrintln(`lookup or call: ${codeOf(error)}`);
  }
}

export function serverOrHonest(): boolean {
  if (pdName() === "server") server();
  else if (pdName() === "honest") honest();
  else return false;
  return true;
}

export default protectionDomain({
  init() {
    serverOrHonest();
  },
});
