// Seed 002's server: create an endpoint, give the client a capability to call it, answer calls until "quit".
//
//   let (endpoint_id, server_cap) = ipc::create_endpoint()?;
//   loop { let (msg, reply_cap) = ipc::receive_call(&server_cap)?; ipc::reply(&reply_cap, process(msg))?; }
//
// The loop is the PD's own: `serve` hands the endpoint to it, so init() returns at once.
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { createEndpoint, grantCap, Rights, serve } from "isokit/endpoints";

const text = new TextDecoder();
const bytes = new TextEncoder();

export default protectionDomain({
  init() {
    const { id, cap } = createEndpoint();
    // The client gets SEND only: it can call the server, not receive its messages or pass the right on.
    grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "server" });
    debugPrintln(`endpoint ${id} ready; granted SEND to client`);
    serve(cap, (message) => {
      const request = text.decode(message.data);
      debugPrintln(`request '${request}' from ${message.sender}`);
      if (request !== "quit") return bytes.encode(`${request.length} characters`);
      cap.close(); // closes the endpoint: the loop stops serving it
      debugPrintln("done");
      return undefined;
    });
  },
});
