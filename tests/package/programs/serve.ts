// A server that serves an endpoint with serve() from init() (which returns at once), and a client that calls
// it, then notifies the server on their channel: the server's loop must take both. The variant is chosen by the
// server's PD name: `server` echoes in upper case, `thrower` throws in its handler on "boom", `promiser`
// returns a promise from a sync PD.
import { Channel, debugPrintln, pdName, protectionDomain } from "isokit/microkit";
import { call, createEndpoint, grantCap, lookupCapability, Rights, serve } from "isokit/endpoints";
import { isIpcError } from "isokit";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap, "client", Rights.SEND, { name: "echo" });
  const name = pdName();
  serve(cap, (m) => {
    const text = dec(m.data);
    if (name === "thrower" && text === "boom") throw new Error("no booms here");
    if (name === "promiser") return Promise.resolve(enc(text));
    return { data: enc(text.toUpperCase()), label: m.label + 1 };
  });
  debugPrintln("init done");
}

function client(): void {
  const echo = lookupCapability("echo", { timeout: 20_000 });
  for (const word of ["one", "two", "boom", "three"]) {
    try {
      const r = call(echo, enc(word), { label: 1, timeout: 20_000 });
      debugPrintln(`${word} -> ${dec(r.data)} label=${r.label}`);
    } catch (error) {
      debugPrintln(`${word} -> ${isIpcError(error) ? error.code : String(error)}`);
    }
  }
  try {
    new Channel(1).notify(); // the server's loop delivers it between served messages
  } catch (error) {
    debugPrintln(`notify -> ${isIpcError(error) ? error.code : String(error)}`);
  }
}

export default protectionDomain({
  init() {
    if (pdName() === "client") client();
    else server();
  },
  notified() {
    debugPrintln("notified");
  },
});
