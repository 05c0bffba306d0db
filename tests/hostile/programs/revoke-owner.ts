// Owns a region and lends it to PD "holder" through a capability it can revoke: grants "region" (RECEIVE |
// SEND, derived from a child it keeps) and "ep" (SEND to an endpoint it serves). Calls on the endpoint:
// "revoke" revokes the child (and with it the holder's copy), then writes "secret" where the holder could read
// it; "check" prints what its region holds; anything else is answered "pong".
import { createEndpoint, createRegion, debugPrintln, grantCap, protectionDomain, Rights, serve } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    const { cap, region } = createRegion(64);
    const lent = cap.derive(Rights.RECEIVE | Rights.SEND | Rights.GRANT | Rights.REVOKE);
    grantCap(lent, "holder", Rights.RECEIVE | Rights.SEND, { name: "region" });
    const ep = createEndpoint();
    serve(ep.cap, (message) => {
      const text = new TextDecoder().decode(message.data);
      if (text === "revoke") {
        const count = lent.revoke();
        region.writableBytes().set(new TextEncoder().encode("secret"), 16);
        return new TextEncoder().encode(`revoked ${count}`);
      }
      if (text === "check") {
        debugPrintln(`region: ${new TextDecoder().decode(region.bytes.slice(0, 2))} ${Array.from(region.bytes.slice(2, 16)).every((b) => b === 0) ? "and zeroes" : "TOUCHED"}`);
      }
      return new TextEncoder().encode("pong");
    });
    grantCap(ep.cap, "holder", Rights.SEND, { name: "ep" });
  },
});
