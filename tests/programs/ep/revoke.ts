// Sends racing a revoke: `revoker` holds a REVOKE capability above the client's and revokes it while the
// client sends as fast as it can. The server counts what it took; after the revoker's "revoked" marker (sent
// after revoke returned) nothing from the client may arrive.
import {
  createEndpoint,
  debugPrintln,
  grantCap,
  isIpcError,
  lookupCapability,
  pdName,
  protectionDomain,
  receive,
  Rights,
  send,
} from "../../../src/index.ts";
import { dec, enc, sleepMs } from "./util.ts";

const ALL = Rights.SEND | Rights.GRANT | Rights.REVOKE;

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(ALL), "revoker", ALL, { name: "ep" });
  let count = 0;
  let last = 0;
  let gaps = 0;
  let afterMarker = 0;
  let marker = false;
  for (;;) {
    let m;
    try {
      m = receive(cap, { timeout: marker ? 300 : 20_000 });
    } catch (error) {
      if (marker && isIpcError(error, "Timeout")) break;
      throw error;
    }
    if (m.sender === "client") {
      const seq = new DataView(m.data.buffer).getUint32(0, true);
      if (seq !== last + 1) gaps++;
      last = seq;
      count++;
      if (marker) afterMarker++;
    } else if (dec(m.data) === "revoked") {
      marker = true;
    }
  }
  debugPrintln(`took ${count} last=${last} gaps=${gaps} after-revoke=${afterMarker}`);
}

function revoker(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const forClient = ep.derive(ALL);
  const marker = ep.derive(Rights.SEND); // a sibling: survives revoking forClient
  grantCap(forClient, "client", Rights.SEND, { name: "ep" });
  sleepMs(30); // let the client get going; the outcome must not depend on when the revoke lands
  const revoked = forClient.revoke();
  send(marker, enc("revoked"));
  debugPrintln(`revoked ${revoked}`);
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const message = new Uint8Array(4);
  let accepted = 0;
  for (let seq = 1; ; seq++) {
    new DataView(message.buffer).setUint32(0, seq, true);
    try {
      send(ep, message, { timeout: 20_000 });
      accepted = seq;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      debugPrintln(`accepted ${accepted} then ${isIpcError(error) ? error.code : "?"} says-revoked=${/was revoked by PD .revoker./.test(text)}`);
      return;
    }
  }
}

export default protectionDomain({
  init() {
    const name = pdName();
    if (name === "server") server();
    else if (name === "revoker") revoker();
    else client();
  },
});
