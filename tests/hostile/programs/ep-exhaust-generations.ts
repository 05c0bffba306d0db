// Finding 12's attacker: derive a capability from the server's endpoint capability and close it, 66,000 times
// (more than the 65,535 generations a token can carry), then say "done" through the capability it was given.
// Raw syscalls (what the runtime's derive and close send, without their bookkeeping): the attack is the count.
import { debugPrintln, lookupCapability, protectionDomain, Rights, send } from "../../../src/index.ts";
import { codeOf, enc, rawClient } from "./ep-common.ts";
import { serverOrHonest } from "./ep-exhaust.ts";

export const ROUNDS = 66_000;

export default protectionDomain({
  init() {
    if (serverOrHonest()) return;
    const ep = lookupCapability("ep", { timeout: 20_000 });
    const raw = rawClient().link;
    let i = 0;
    let stop = "none";
    for (; i < ROUNDS; i++) {
      try {
        const child = raw.syscall({ op: "derive", token: ep.token, rights: Rights.SEND }) as { token: bigint };
        raw.syscall({ op: "close", token: child.token });
      } catch (error) {
        stop = codeOf(error);
        break;
      }
    }
    debugPrintln(`derive and close: ${i} then ${stop}`);
    send(ep, enc("done"), { timeout: 30_000 });
  },
});
