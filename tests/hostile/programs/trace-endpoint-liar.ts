// A caller that lies in its trace ring about when it called an endpoint. "liar" makes CALLS calls to "server"'s
// endpoint through the PD API (the runtime records each: ENDPOINT_CALL), then, for each record of a call in its
// ring, writes a copy saying the call was published a microsecond after the kernel's time origin, long before
// the server started, and records nothing more (the runtime's writer would write over them). The trace file
// takes a call's publication from the last record of it: the server's receives its spin took, dated from the
// call, must not move back over the server's past. "server" answers every call.
import { workerData } from "node:worker_threads";
import { call, createEndpoint, debugPrintln, grantCap, lookupCapability, pdName, protectionDomain, receive, reply, replyRecv, Rights } from "../../../src/index.ts";
import type { PdBootData } from "../../../src/internal.ts";
import { RECORD_FIELD, RECORD_I32, TRACE_I32, TRACE_RECORDS, TraceKind } from "../../../src/protocol/trace.ts";

export const CALLS = 200;

function server(): void {
  const { cap } = createEndpoint();
  grantCap(cap.derive(Rights.SEND | Rights.GRANT), "liar", Rights.SEND, { name: "ep" });
  let m = receive(cap, { timeout: 20_000 });
  for (let n = 1; n < CALLS; n++) m = replyRecv(m.reply!, m.data, cap, { timeout: 20_000 });
  reply(m.reply!, m.data);
}

function liar(): void {
  const ep = lookupCapability("ep", { timeout: 10_000 });
  for (let i = 0; i < CALLS; i++) call(ep, new Uint8Array([i & 0xff]));
  const boot = workerData as PdBootData;
  const ring = new Int32Array(boot.trace!.buffer);
  const f64 = new Float64Array(boot.trace!.buffer);
  const capacity = ring[TRACE_I32.CAPACITY]!;
  const head = Atomics.load(ring, TRACE_I32.HEAD) >>> 0;
  let lies = 0;
  for (let n = 0; n < head; n++) {
    const w = TRACE_RECORDS / 4 + (n & (capacity - 1)) * RECORD_I32;
    if (ring[w + RECORD_FIELD.KIND] !== TraceKind.ENDPOINT_CALL) continue;
    const to = TRACE_RECORDS / 4 + ((head + lies) & (capacity - 1)) * RECORD_I32;
    ring.set(ring.subarray(w, w + RECORD_I32), to);
    f64[to >> 1] = 0.001; // the lie: ms on the kernel's clock
    lies++;
  }
  Atomics.store(ring, TRACE_I32.HEAD, (head + lies) | 0);
  debugPrintln(`lied about ${lies} calls`);
}

export default protectionDomain({
  init() {
    if (pdName() === "server") server();
    else liar();
  },
});
