// Finding 4: a derive that fails on bad limits must leave nothing behind. The holder has a capability limited
// to 20 messages/s; it derives a good child (to learn how tokens are numbered), then derives with bad limits
// (raw syscalls, past its runtime's checks), then tries to adopt the tokens the failed derives would have made.
// Bigint limits must get a typed InvalidArgument, through the API and raw.
import { capabilityFromToken, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, Rights, send, type Capability } from "../../../src/index.ts";
import { codeOf, codeOfCall, count, dec, enc, expectCode, rawClient, tally } from "./ep-common.ts";

const LIMITED = { maxMessagesPerSec: 20, maxBytesPerSec: 1e6, burstMultiplier: 1 };

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT, { rateLimits: LIMITED }), "holder", Rights.SEND, { name: "ep" });
  let took = 0;
  for (;;) {
    let text: string;
    try {
      text = dec(receive(cap, { timeout: 20_000 }).data);
    } catch (error) {
      debugPrintln(`receive: ${codeOf(error)}`);
      break;
    }
    took++;
    if (text === "done") break;
  }
  debugPrintln(`took ${took}`);
}

function holder(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const raw = rawClient().link;
  const good = ep.derive(Rights.SEND);
  const rawDerive = (limits: unknown) => () => raw.syscall({ op: "derive", token: ep.token, rights: Rights.SEND, limits });
  expectCode("bad limits -1", rawDerive({ maxMessagesPerSec: -1, maxBytesPerSec: 1000, burstMultiplier: 1 }));
  expectCode("bad limits not numbers", rawDerive({ maxMessagesPerSec: "many", maxBytesPerSec: null, burstMultiplier: {} }));
  const bigints = { maxMessagesPerSec: 20n, maxBytesPerSec: 1000n, burstMultiplier: 1n } as unknown as typeof LIMITED;
  expectCode("bigint limits", () => ep.derive(Rights.SEND, { rateLimits: bigints }));
  expectCode("bigint limits, raw", rawDerive(bigints));
  // Tokens: endpoint id in bits 0-31, generation in 32-47, rights in 48-63. Try the generations around the good
  // child's (the failed derives came after it).
  const generation = (good.token >> 32n) & 0xffffn;
  const codes = new Map<string, number>();
  const adopted: Capability[] = [];
  let tried = 0;
  for (let g = generation - 2n; g <= generation + 8n; g++) {
    if (g === generation || g < 0n) continue;
    const token = (good.token & ~(0xffffn << 32n)) | (g << 32n);
    if (token === ep.token) continue; // its own: held, and limited
    tried++;
    try {
      adopted.push(capabilityFromToken(token));
      count(codes, "adopted");
    } catch (error) {
      count(codes, codeOf(error));
    }
  }
  debugPrintln(`predicted tokens: ${tally(codes)} of ${tried}`);
  // What an adopted child is worth to an attacker: messages past the 20 msg/s limit (a diagnostic).
  let sent = 0;
  for (const cap of adopted) {
    for (let i = 0; i < 200; i++) if (codeOfCall(() => { send(cap, enc("x"), { timeout: 2000 }); }) === "ok") sent++;
  }
  if (adopted.length > 0) debugPrintln(`sent ${sent} through adopted capabilities`);
  send(ep, enc("done"), { timeout: 20_000 });
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else holder();
  },
});
