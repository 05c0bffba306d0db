// Finding 3: revoke defeated by a long derivation chain. The holder derives a chain from the capability the
// server granted it (each from the last) as deep as it is allowed, says so, and the server revokes the root.
// Afterwards every capability of the chain must be dead: a send through each is InvalidCapability.
import { createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, Rights, send, type Capability } from "../../../src/index.ts";
import { codeOf, codeOfCall, count, enc, tally } from "./ep-common.ts";

/** More than the old kernel's stack could revoke recursively (it overflowed at about 8,000). */
const WANTED = 12_000;

function server(): void {
  const { cap } = createEndpoint();
  const root = cap.derive(Rights.SEND | Rights.GRANT | Rights.REVOKE);
  grantCap(root, "holder", Rights.SEND | Rights.GRANT, { name: "ep" });
  const m = receive(cap, { timeout: 30_000 });
  debugPrintln(`got ${new TextDecoder().decode(m.data)}`);
  let outcome: string;
  try {
    outcome = `ok count>=2 ${root.revoke() >= 2}`;
  } catch (error) {
    outcome = codeOf(error);
  }
  debugPrintln(`revoke of the root: ${outcome}`);
  const { cap: done } = createEndpoint();
  grantCap(done, "holder", Rights.SEND, { name: "revoked" });
}

function holder(): void {
  const ep = lookupCapability("ep", { timeout: 30_000 });
  const chain: Capability[] = [ep];
  let stop = "none";
  for (let i = 0; i < WANTED; i++) {
    try {
      chain.push(chain[chain.length - 1]!.derive(Rights.SEND | Rights.GRANT));
    } catch (error) {
      stop = codeOf(error);
      break;
    }
  }
  debugPrintln(`chain ${chain.length - 1} deep, then ${stop}`);
  send(ep, enc("chain ready"), { timeout: 30_000 });
  lookupCapability("revoked", { timeout: 30_000 });
  const codes = new Map<string, number>();
  for (const cap of chain) {
    const code = codeOfCall(() => { send(cap, enc("after revoke"), { timeout: 0 }); });
    count(codes, code);
    if (code !== "InvalidCapability") break; // one live capability is the finding; no need to try thousands
  }
  debugPrintln(`sends after revoke: ${tally(codes)} of ${chain.length}`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else holder();
  },
});
