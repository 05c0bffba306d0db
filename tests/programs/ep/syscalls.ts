// Seed 002's syscall interface between two PDs. The server makes a channel-like endpoint in init and, asked by
// the client's ppcall, grants it SEND with sys_grant_cap and answers with the token (in MR0); the client then
// calls through it with sys_call, and the server serves in notified() with sys_receive / sys_reply.
import {
  Channel,
  debugPrintln,
  getMrBig,
  MessageInfo,
  pdName,
  processId,
  protectionDomain,
  Rights,
  setMr,
  sys_call,
  sys_close,
  sys_create_channel,
  sys_create_endpoint,
  sys_grant_cap,
  sys_receive,
  sys_reply,
  sys_revoke_cap,
  sys_send,
} from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

let sendToken = 0n;
let receiveToken = 0n;

export default protectionDomain({
  init(): void {
    if (pdName() === "server") serverInit();
    else clientInit();
  },
  protected(): MessageInfo {
    setMr(0, sys_grant_cap(sendToken, processId("client"), Rights.SEND));
    return new MessageInfo(0, 1);
  },
  notified(): void {
    const buffer = new Uint8Array(64);
    for (;;) {
      const n = sys_receive(receiveToken, buffer);
      const text = dec(buffer.subarray(0, n));
      debugPrintln(`sys_receive ${n} bytes: ${text}`);
      if (text === "bye") return;
      sys_reply(receiveToken, enc(`${text}!`));
    }
  },
});

function serverInit(): void {
  [sendToken, receiveToken] = sys_create_channel(16);
  const [id, spare] = sys_create_endpoint();
  debugPrintln(`spare endpoint ${id}`);
  sys_close(spare);
  expectCode("use after sys_close", () => { sys_revoke_cap(spare); });
}

function clientInit(): void {
  new Channel(0).ppcall(new MessageInfo(0, 0));
  const token = getMrBig(0);
  new Channel(0).notify();
  const reply = new Uint8Array(64);
  const n = sys_call(token, enc("ping"), reply);
  debugPrintln(`sys_call reply: ${dec(reply.subarray(0, n))}`);
  expectCode("sys_call with a reply buffer too small", () => sys_call(token, enc("pong"), new Uint8Array(2)));
  expectCode("sys_send with a token never granted", () => { sys_send(token + 1n, enc("x")); });
  sys_send(token, enc("bye"));
}
