// Seed 002's server: create an endpoint, give the client a capability to call it, answer calls until "quit".
//
//   let (endpoint_id, server_cap) = ipc::create_endpoint()?;
//   loop { let (msg, reply_cap) = ipc::receive_call(&server_cap)?; ipc::reply(&reply_cap, process(msg))?; }
import { createEndpoint, debugPrintln, grantCap, protectionDomain, receive, replyRecv, Rights } from "../../src/index.ts";

const text = new TextDecoder();
const bytes = new TextEncoder();

export default protectionDomain({
  init() {
    const { id, cap } = createEndpoint();
    // The client gets SEND only: it can call the server, not receive its messages or pass the right on.
    grantCap(cap.derive(Rights.SEND | Rights.GRANT), "client", Rights.SEND, { name: "server" });
    debugPrintln(`endpoint ${id} ready; granted SEND to client`);
    let message = receive(cap);
    for (;;) {
      const request = text.decode(message.data);
      debugPrintln(`request '${request}' from ${message.sender}`);
      if (request === "quit") break;
      message = replyRecv(message.reply!, bytes.encode(`${request.length} characters`), cap);
    }
    debugPrintln("done");
  },
});
