// The README's old server: a receive loop of its own in init(), which therefore never returns.
import { protectionDomain } from "isokit/microkit";
import { createEndpoint, receive, replyRecv } from "isokit/endpoints";

export default protectionDomain({
  init() {
    const { cap } = createEndpoint();
    for (let m = receive(cap); ; m = replyRecv(m.reply!, m.data, cap));
  },
});
