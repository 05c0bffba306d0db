// Hostile PDs against the IPC buffer path (callInto / receiveInto / replyRecvInto, src/ipc/message-buffer.ts).
// `server` answers every call from one MessageBuffer (echo, in place) until both `honest` and `liar` said "bye".
// `liar` writes its slot itself: calls with lengths past 64 (65, 2^31-1, 2^32-1), then calls whose bytes it keeps
// rewriting while the server copies them. `honest` makes CALLS calls and checks each echo.
// The reverse: `evil` takes `victim`'s call into a buffer and answers it by writing the slot itself, with a
// length of 1,000; the victim's callInto must fail typed and its next call work.
import { callInto, createEndpoint, debugPrintln, grantCap, lookupCapability, MessageBuffer, pdName, protectionDomain, receiveInto, replyInto, replyRecvInto, Rights, send } from "../../../src/index.ts";
import { layout } from "../../../src/internal.ts";
import { Refusal, SLOT, SLOT_I32, SlotState } from "../../../src/protocol/endpoint.ts";
import { codeOf, rawClient } from "./ep-common.ts";

export const CALLS = 300;
const TORN = 200;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function server(): void {
  const { cap } = createEndpoint();
  for (const pd of ["honest", "liar"]) grantCap(cap.derive(Rights.SEND | Rights.GRANT), pd, Rights.SEND | Rights.GRANT, { name: "ep" });
  const buf = new MessageBuffer();
  let byes = 0;
  let calls = 0;
  let longest = 0;
  receiveInto(cap, buf, { timeout: 30_000 });
  for (;;) {
    longest = Math.max(longest, buf.length);
    if (!buf.holdsCall) {
      if (++byes === 2) break;
      receiveInto(cap, buf, { timeout: 30_000 });
      continue;
    }
    calls++;
    replyRecvInto(cap, buf, { timeout: 30_000 });
  }
  debugPrintln(`served ${calls} calls, none longer than 64 bytes: ${longest <= 64}`);
}

function honest(): void {
  const ep = lookupCapability("ep", { timeout: 30_000 });
  const buf = new MessageBuffer();
  let right = 0;
  for (let i = 0; i < CALLS; i++) {
    buf.bytes.fill(i & 0xff, 0, 64);
    buf.length = 1 + (i % 64);
    buf.label = i;
    callInto(ep, buf, { timeout: 30_000 });
    let same = buf.length === 1 + (i % 64) && buf.label === i;
    for (let k = 0; k < buf.length; k++) same &&= buf.bytes[k] === (i & 0xff);
    if (same) right++;
  }
  debugPrintln(`honest calls answered right: ${right}`);
  send(ep, enc("bye"));
}

/** Publishes a call written by hand in the slot and waits (bounded) until it is no longer CALLED. */
function rawCall(i32: Int32Array, bell: Int32Array, length: number, seq: number, scribble?: Uint8Array): number {
  const free = Atomics.load(i32, SLOT_I32.STATE);
  i32[SLOT_I32.LENGTH] = length;
  i32[SLOT_I32.LABEL] = 0;
  i32[SLOT_I32.TRANSFER] = 0;
  i32[SLOT_I32.SEQ] = seq;
  Atomics.compareExchange(i32, SLOT_I32.STATE, free, SlotState.CALLED);
  Atomics.store(bell, layout.DOORBELL_I32.RING, 1);
  Atomics.notify(bell, layout.DOORBELL_I32.RING);
  const deadline = performance.now() + 30_000;
  for (let n = 0; Atomics.load(i32, SLOT_I32.STATE) === SlotState.CALLED && performance.now() < deadline; n++) {
    if (scribble !== undefined) scribble.fill(n & 0xff); // rewrites the message while the server copies it
  }
  return Atomics.load(i32, SLOT_I32.STATE);
}

function liar(): void {
  const ep = lookupCapability("ep", { timeout: 30_000 });
  const grant = rawClient().link.syscall({ op: "connect", token: ep.token }) as { slot: SharedArrayBuffer; receiverDoorbell: SharedArrayBuffer };
  const i32 = new Int32Array(grant.slot);
  const bell = new Int32Array(grant.receiverDoorbell);
  const out: string[] = [];
  let seq = 0;
  for (const length of [65, 0x7fff_ffff, -1]) {
    const state = rawCall(i32, bell, length, ++seq);
    out.push(`length ${length >>> 0}: ${state === SlotState.REFUSED && i32[SLOT_I32.ERROR] === Refusal.INVALID_MESSAGE ? "refused InvalidMessage" : `state ${state}`}`);
  }
  let replied = 0;
  const data = new Uint8Array(grant.slot, SLOT.DATA, 64);
  for (let i = 0; i < TORN; i++) if (rawCall(i32, bell, 64, ++seq, data) === SlotState.REPLIED && i32[SLOT_I32.LENGTH] === 64) replied++;
  out.push(`torn calls answered with 64 bytes: ${replied}/${TORN}`);
  debugPrintln(out.join("; "));
  send(ep, enc("bye"));
}

function evil(): void {
  const { id, cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "victim", Rights.SEND, { name: "ep" });
  const buf = new MessageBuffer();
  receiveInto(cap, buf, { timeout: 30_000 });
  // Answers below the API: the slot's words written by hand, REPLIED with a length past the slot.
  const endpoint = (rawClient().endpoints as unknown as Map<number, { slots: { i32: Int32Array }[] }>).get(id)!;
  const i32 = endpoint.slots[0]!.i32;
  i32[SLOT_I32.LENGTH] = 1000;
  Atomics.compareExchange(i32, SLOT_I32.STATE, SlotState.CALLED, SlotState.REPLIED);
  Atomics.notify(i32, SLOT_I32.STATE);
  const again = replyInto(buf); // the call was answered (by hand): nothing more is sent
  receiveInto(cap, buf, { timeout: 30_000 });
  buf.bytes[0] = 42;
  buf.length = 1;
  debugPrintln(`second replyInto of an answered call: ${again}; honest reply delivered: ${replyInto(buf)}`);
}

function victim(): void {
  const ep = lookupCapability("ep", { timeout: 30_000 });
  const buf = new MessageBuffer();
  buf.length = 8;
  let first: string;
  try {
    callInto(ep, buf, { timeout: 30_000 });
    first = `ok length ${buf.length}`;
  } catch (error) {
    first = codeOf(error);
  }
  buf.length = 8;
  callInto(ep, buf, { timeout: 30_000 });
  debugPrintln(`a reply 1000 bytes long: ${first}; next call: length ${buf.length} byte ${buf.bytes[0]}`);
}

export default protectionDomain({
  init() {
    const roles: Record<string, () => void> = { server, honest, liar, evil, victim };
    roles[pdName()]!();
  },
});
