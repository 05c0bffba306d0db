// The IPC buffer API (callInto, receiveInto, replyInto, replyRecvInto): `server` answers from one MessageBuffer
// with replyRecvInto, uppercasing in place; `client` calls from one buffer, mixes it with the copying calls and
// a plain send, carries a capability, and tries the buffer's typed errors. A bounded channel's messages are
// received into a buffer too.
import {
  call,
  callInto,
  createChannel,
  createEndpoint,
  debugPrintln,
  grantCap,
  lookupCapability,
  MessageBuffer,
  pdName,
  protectionDomain,
  receiveInto,
  replyInto,
  replyRecvInto,
  Rights,
  send,
} from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

const text = (b: MessageBuffer): string => dec(b.bytes.subarray(0, b.length));

function put(b: MessageBuffer, s: string, label = 0): void {
  const bytes = enc(s);
  b.bytes.set(bytes);
  b.length = bytes.length;
  b.label = label;
}

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT, { badge: 9 }), "client", Rights.SEND | Rights.GRANT, { name: "ep" });
  const channel = createChannel(4);
  grantCap(channel.send, "client", Rights.SEND, { name: "ch" });
  const buf = new MessageBuffer();
  receiveInto(cap, buf, { timeout: 20_000 });
  debugPrintln(`got ${text(buf)} label=${buf.label} badge=${buf.badge} from=${buf.sender} call=${buf.holdsCall}`);
  expectCode("receiveInto while holding a call", () => { receiveInto(cap, buf, { timeout: 0 }); });
  for (;;) {
    const got = text(buf);
    if (!buf.holdsCall) {
      debugPrintln(`send ${got}`);
      if (got === "bye") break;
      receiveInto(cap, buf, { timeout: 20_000 });
      continue;
    }
    if (buf.caps.length > 0) debugPrintln(`call ${got} carried ${buf.caps.length} capability`);
    for (let i = 0; i < buf.length; i++) if (buf.bytes[i]! >= 97 && buf.bytes[i]! <= 122) buf.bytes[i]! -= 32;
    buf.label += 1;
    replyRecvInto(cap, buf, { timeout: 20_000 });
  }
  expectCode("replyInto holding no call", () => replyInto(buf));
  const fromQueue: string[] = [];
  for (let i = 0; i < 2; i++) {
    receiveInto(channel.receive, buf, { timeout: 20_000 });
    fromQueue.push(`${text(buf)}/${buf.label}/${buf.holdsCall}`);
  }
  debugPrintln(`queue ${fromQueue.join(" ")}`);
}

function client(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const ch = lookupCapability("ch", { timeout: 20_000 });
  const buf = new MessageBuffer();
  put(buf, "hello", 5);
  callInto(ep, buf);
  debugPrintln(`reply ${text(buf)} label=${buf.label} length=${buf.length}`);
  put(buf, "x".repeat(64));
  callInto(ep, buf, { timeout: 20_000 });
  debugPrintln(`64 bytes: ${text(buf) === "X".repeat(64)}`);
  put(buf, "");
  callInto(ep, buf);
  debugPrintln(`empty: length=${buf.length} label=${buf.label}`);
  debugPrintln(`copying call: ${dec(call(ep, enc("mixed")).data)}`);
  const own = createEndpoint();
  put(buf, "carry");
  callInto(ep, buf, { grant: [own.cap.derive(Rights.SEND | Rights.GRANT)] });
  debugPrintln(`carried: ${text(buf)}`);
  send(ep, enc("note"));
  for (const [what, length, label] of [
    ["length 65", 65, 0],
    ["length 1.5", 1.5, 0],
    ["length -1", -1, 0],
    ["label -1", 1, -1],
    ["label 2^32", 1, 2 ** 32],
  ] as const) {
    buf.length = length;
    buf.label = label;
    expectCode(what, () => { callInto(ep, buf); });
  }
  expectCode("not a buffer", () => { callInto(ep, { bytes: new Uint8Array(64), length: 1, label: 0 } as unknown as MessageBuffer); });
  expectCode("a forged buffer", () => { callInto(ep, Object.create(MessageBuffer.prototype) as MessageBuffer); });
  expectCode("callInto through a channel", () => { put(buf, "q"); callInto(ch, buf); });
  expectCode("replyInto with a fresh buffer", () => replyInto(new MessageBuffer()));
  send(ep, enc("bye"));
  send(ch, enc("q1"), { label: 3 });
  send(ch, enc("q2"), { label: 4 });
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else client();
  },
});
