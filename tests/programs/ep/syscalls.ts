// Seed 002's syscall interface between two PDs. The server makes an endpoint and a channel in init and, asked
// by the client's ppcall, grants SEND on both with sys_grant_cap and answers with the tokens (MR0, MR1); the client then
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

let endpointToken = 0n;
let channelSend = 0n;
let channelReceive = 0n;

export default protectionDomain({
  init(): void {
    if (pdName() === "server") serverInit();
    else clientInit();
  },
  protected(): MessageInfo {
    setMr(0, sys_grant_cap(endpointToken, processId("client"), Rights.SEND));
    setMr(1, sys_grant_cap(channelSend, processId("client"), Rights.SEND));
    return new MessageInfo(0, 2);
  },
  notified(): void {
    const buffer = new Uint8Array(64);
    for (;;) {
      const n = sys_receive(endpointToken, buffer);
      const text = dec(buffer.subarray(0, n));
      debugPrintln(`sys_receive ${n} bytes: ${text}`);
      if (text === "bye") break;
      sys_reply(endpointToken, enc(`${text}!`));
    }
    for (let i = 0; i < 2; i++) {
      const n = sys_receive(channelReceive, buffer);
      debugPrintln(`from the channel: ${dec(buffer.subarray(0, n))}`);
    }
  },
});

function serverInit(): void {
  [, endpointToken] = sys_create_endpoint();
  [channelSend, channelReceive] = sys_create_channel(16);
  const [id, spare] = sys_create_endpoint();
  debugPrintln(`spare endpoint ${id}`);
  sys_close(spare);
  expectCode("use after sys_close", () => { sys_revoke_cap(spare); });
}

function clientInit(): void {
  new Channel(0).ppcall(new MessageInfo(0, 0));
  const token = getMrBig(0);
  const channel = getMrBig(1);
  new Channel(0).notify();
  const reply = new Uint8Array(64);
  const n = sys_call(token, enc("ping"), reply);
  debugPrintln(`sys_call reply: ${dec(reply.subarray(0, n))}`);
  expectCode("sys_call with a reply buffer too small", () => sys_call(token, enc("pong"), new Uint8Array(2)));
  expectCode("sys_send with a token never granted", () => { sys_send(token ^ (1n << 47n), enc("x")); });
  sys_send(channel, enc("one")); // queued: returns before the server looks
  sys_send(channel, enc("two"));
  sys_send(token, enc("bye"));
}
