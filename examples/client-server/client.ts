// Seed 002's client: `let response = ipc::call(&server_cap, request)?;`
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { call, lookupCapability, send } from "isokit/endpoints";

const text = new TextDecoder();
const bytes = new TextEncoder();

export default protectionDomain({
  init() {
    const server = lookupCapability("server", { timeout: 5000 });
    for (const request of ["hello", "capability-secure IPC"]) {
      const reply = call(server, bytes.encode(request));
      debugPrintln(`'${request}' -> '${text.decode(reply.data)}'`);
    }
    send(server, bytes.encode("quit"));
  },
});
