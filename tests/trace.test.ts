// Tracing (issue #14): the trace ring's two halves, and a traced run of examples/ipc written as Trace Event
// JSON that passes the format's rules, with a flow from the client's ppcall to the server's protected() and
// one back from it to the reply.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { boot } from "../src/index.ts";
import { resolveImages } from "../src/cli/images.ts";
import { parseSystem } from "../src/sdf/index.ts";
import { createTraceRing, readRecord, TraceRingReader, TraceRingWriter, type TraceRecord } from "../src/shm/trace-ring.ts";
import { COUNT_LANES, RECEIVED_BY_SPIN, RECORD_I32, TRACE_COUNTS, TRACE_I32, TRACE_OBJECTS, TRACE_RECORDS, TRACE_SUMS, TraceKind } from "../src/protocol/trace.ts";
import { checkTraceFile, KernelTrace, Operation, type TraceEvent } from "../src/kernel/trace.ts";
import { StatsCollector } from "../src/kernel/stats.ts";

/**
 * Copies what is new in `reader`'s ring since record `since.n` (at most the ring's last CAPACITY - 1) and decodes
 * it as the kernel's copy would; counts what it could not decode in `skipped`, what was overwritten in `lost`.
 */
function take(reader: TraceRingReader, since = { n: 0 }, skipped = { n: 0 }, lost = { n: 0 }): TraceRecord[] {
  const out: TraceRecord[] = [];
  const written = reader.written();
  const from = Math.max(since.n, reader.oldest(written));
  lost.n += from - since.n;
  reader.copy(from, written, (records, first, count) => {
    const copy = records.slice(first * RECORD_I32, (first + count) * RECORD_I32); // what the kernel keeps: a copy
    for (let k = 0; k < count; k++) {
      const r = readRecord(copy, new Float64Array(copy.buffer), k);
      if (r === undefined) skipped.n++;
      else out.push(r);
    }
  });
  since.n = written;
  return out;
}

describe("trace ring", () => {
  it("carries records in order with every field, stamped on the kernel's clock", () => {
    const buffer = createTraceRing(64);
    const reader = new TraceRingReader(buffer);
    const writer = new TraceRingWriter(buffer, performance.timeOrigin);
    const before = performance.now();
    writer.record(TraceKind.PPCALL_BEGIN, 13, 0, 1, 7);
    writer.record(TraceKind.PPCALL_END, 13, 0, 1, 0xffff_ffff);
    const records = take(reader);
    assert.deepEqual(records.map((r) => [r.kind, r.object, r.a, r.b, r.label]), [[TraceKind.PPCALL_BEGIN, 13, 0, 1, 7], [TraceKind.PPCALL_END, 13, 0, 1, 0xffff_ffff]]);
    assert.ok(records[0]!.at >= before && records[1]!.at >= records[0]!.at && records[1]!.at <= performance.now());
  });

  it("overwrites its oldest records once full: the reader gets the last CAPACITY - 1, never the slot the PD writes next", () => {
    const buffer = createTraceRing(64);
    const reader = new TraceRingReader(buffer);
    const writer = new TraceRingWriter(buffer, performance.timeOrigin);
    for (let i = 0; i < 100; i++) writer.record(TraceKind.NOTIFY, i, 0, 0, 0);
    assert.equal(reader.written(), 100);
    assert.equal(reader.oldest(100), 37);
    const lost = { n: 0 };
    assert.deepEqual(take(reader, { n: 0 }, { n: 0 }, lost).map((r) => r.object), Array.from({ length: 63 }, (_, i) => 37 + i));
    assert.equal(lost.n, 37);
  });

  it("wraps round many times with seeded random batches: what a reader gets and what it lost add up, in order", () => {
    const buffer = createTraceRing(64);
    const reader = new TraceRingReader(buffer);
    const writer = new TraceRingWriter(buffer, performance.timeOrigin);
    let seed = 12345;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    let written = 0;
    const seen: number[] = [];
    const since = { n: 0 };
    const lost = { n: 0 };
    for (let round = 0; round < 500; round++) {
      for (let k = random(80); k > 0; k--) writer.record(TraceKind.NOTIFY, written++, 0, 0, 0);
      if (random(2) === 0) seen.push(...take(reader, since, { n: 0 }, lost).map((r) => r.object));
    }
    seen.push(...take(reader, since, { n: 0 }, lost).map((r) => r.object));
    assert.ok(lost.n > 0, "some batches came faster than the reader");
    assert.equal(seen.length + lost.n, written);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, "in order");
  });

  it("hands over raw spans, oldest first, in two pieces where the ring wraps", () => {
    const buffer = createTraceRing(64);
    const reader = new TraceRingReader(buffer);
    const writer = new TraceRingWriter(buffer, performance.timeOrigin);
    for (let i = 0; i < 100; i++) writer.record(TraceKind.NOTIFY, i, 0, 0, 0);
    assert.equal(reader.written(), 100);
    const spans: [number, number][] = [];
    const objects: number[] = [];
    reader.copy(50, 100, (records, first, count) => {
      spans.push([first, count]);
      for (let k = 0; k < count; k++) objects.push(records[(first + k) * RECORD_I32 + 3]!);
    });
    assert.deepEqual(spans, [[50, 14], [0, 36]]);
    assert.deepEqual(objects, Array.from({ length: 50 }, (_, i) => 50 + i));
  });

  it("counts every record it writes by kind and lane, the object each lane last counted, and a ring batch's messages", () => {
    const buffer = createTraceRing(64);
    const reader = new TraceRingReader(buffer);
    const writer = new TraceRingWriter(buffer, performance.timeOrigin);
    for (let i = 0; i < 100; i++) writer.record(TraceKind.PPCALL, 3, 0, i + 1, 0);
    writer.record(TraceKind.ENDPOINT_CALL, 70, 0, 1, 0); // endpoint 70: lane 70 & 63 = 6
    writer.record(TraceKind.RING_PUBLISH, 1, 5, 0, 0);
    writer.sum(TraceKind.RING_PUBLISH, 1, 5);
    const lane = (kind: number, l: number): number => kind * COUNT_LANES + l;
    assert.equal(reader.count(TRACE_COUNTS, lane(TraceKind.PPCALL, 3)), 100, "every record, though the ring keeps 63");
    assert.equal(reader.count(TRACE_COUNTS, lane(TraceKind.ENDPOINT_CALL, 6)), 1);
    assert.equal(reader.count(TRACE_OBJECTS, lane(TraceKind.ENDPOINT_CALL, 6)), 70);
    assert.equal(reader.count(TRACE_COUNTS, lane(TraceKind.RING_PUBLISH, 1)), 1);
    assert.equal(reader.count(TRACE_SUMS, lane(TraceKind.RING_PUBLISH, 1)), 5);
    assert.equal(reader.count(TRACE_COUNTS, lane(TraceKind.NOTIFY, 3)), 0);
  });

  it("a record of an unknown kind or with a non-finite time does not decode; a HEAD that moves back refuses the ring", () => {
    const buffer = createTraceRing(64);
    const reader = new TraceRingReader(buffer);
    const writer = new TraceRingWriter(buffer, performance.timeOrigin);
    writer.record(99 as TraceKind, 1, 0, 0, 0);
    writer.record(TraceKind.NOTIFY, 2, 0, 0, 0);
    new Float64Array(buffer)[(TRACE_RECORDS + 32) / 8] = Number.NaN; // the second record's time
    writer.record(TraceKind.NOTIFY, 3, 0, 0, 0);
    const skipped = { n: 0 };
    assert.deepEqual(take(reader, { n: 0 }, skipped).map((r) => r.object), [3]);
    assert.equal(skipped.n, 2);
    Atomics.store(new Int32Array(buffer), TRACE_I32.HEAD, 1_000_000); // forward: a PD may write that many
    assert.equal(reader.written(), 1_000_000);
    assert.equal(reader.refusal(), undefined);
    Atomics.store(new Int32Array(buffer), TRACE_I32.HEAD, 5);
    assert.equal(reader.written(), 1_000_000, "a refused ring reads as it last was");
    assert.equal(reader.refusal(), "HEAD moved back from 1000000 to 5");
  });
});

describe("the kernel joins a ppcall's two records", () => {
  /** A client (end 0, pp) and a server (end 1) on channel 0, each with a writer on its ring, stamping at will. */
  function pair(): { trace: KernelTrace; stats: StatsCollector; client: TraceRingWriter; server: TraceRingWriter; base: number } {
    const stats = new StatsCollector();
    const trace = new KernelTrace({}, stats, (pd, why) => assert.fail(`${pd}: ${why}`));
    const a = trace.add({ name: "client", pid: 1, ends: [{ id: 0, channel: 0, peer: "server", calls: true }] }, stats.addPd("client", 1));
    const b = trace.add({ name: "server", pid: 2, ends: [{ id: 1, channel: 0, peer: "client", serves: true }] }, stats.addPd("server", 2));
    return { trace, stats, client: new TraceRingWriter(a.buffer, a.timeOrigin), server: new TraceRingWriter(b.buffer, b.timeOrigin), base: performance.now() };
  }
  const slices = (trace: KernelTrace, cat: string): TraceEvent[] => trace.file().traceEvents.filter((e) => e.ph === "X" && e.cat === cat);
  const us = (ms: number): number => ms * 1000;

  it("a call served while spinning: the caller's record gets the round trip and reply label, the serving its start", () => {
    const { trace, stats, client, server, base } = pair();
    client.recordAt(base + 0.01, TraceKind.PPCALL, 0, 0, 1, 7);
    server.recordAt(base + 0.03, TraceKind.PROTECTED_REPLIED, 1, 0, 1, 7, 9);
    trace.observe(); // the tick's sample: the statistics
    const [call] = slices(trace, "ppcall");
    const [serve] = slices(trace, "protected");
    // The call ends just after its reply was published (2 ns: the caller saw it later).
    assert.ok(Math.abs(call!.ts - us(base + 0.01)) < 1e-3 && Math.abs(call!.dur! - 20.002) < 1e-3, `${call!.ts} ${call!.dur}`);
    assert.equal(call!.args?.["replyLabel"], 9);
    assert.ok(Math.abs(serve!.ts - us(base + 0.01)) < 1e-3 && Math.abs(serve!.dur! - 20) < 1e-3, `${serve!.ts} ${serve!.dur}`);
    const channel = stats.channels[0]!;
    assert.equal(channel.callLatency.summary().count, 1);
    assert.ok(Math.abs(channel.callLatency.summary().maxNs - 20_002) <= 1, String(channel.callLatency.summary().maxNs));
    assert.equal(channel.serveLatency.summary().count, 1);
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(trace.file()))), []);
  });

  it("joins whichever record the kernel reads first, and a serving timed by the callee keeps its own start", () => {
    const { trace, stats, client, server, base } = pair();
    server.recordCall(TraceKind.PROTECTED, 1, base + 0.02, 1, 7, 9); // began at base + 0.02, ran until now
    trace.observe(); // the server's record is sampled, the client's not yet
    trace.collect(); // and copied
    client.recordAt(base + 0.01, TraceKind.PPCALL, 0, 0, 1, 7);
    trace.observe();
    const [call] = slices(trace, "ppcall");
    const [serve] = slices(trace, "protected");
    assert.ok(Math.abs(serve!.ts - us(base + 0.02)) < 1e-3);
    assert.ok(call!.dur! > 10 && call!.args?.["replyLabel"] === 9, JSON.stringify(call));
    assert.equal(stats.channels[0]!.callLatency.summary().count, 1);
  });

  it("a caller's lie stretches no serving back over the callee's previous one; a callee's lie ends no call after the caller's next record", () => {
    const { trace, stats, client, server, base } = pair();
    client.recordAt(base + 0.01, TraceKind.PPCALL, 0, 0, 1, 0);
    server.recordAt(base + 0.03, TraceKind.PROTECTED_REPLIED, 1, 0, 1, 0, 0);
    // Call 17 "published" before call 1 was answered: its serving still begins after serving 1 ended.
    client.recordAt(base + 0.001, TraceKind.PPCALL, 0, 0, 17, 0);
    server.recordAt(base + 0.05, TraceKind.PROTECTED_REPLIED, 1, 0, 17, 0, 0);
    trace.observe();
    assert.ok(stats.channels[0]!.serveLatency.summary().maxNs <= 20_001, `served for ${stats.channels[0]!.serveLatency.summary().maxNs} ns`);
    // Call 33 "answered" long after the caller went on to notify: the call ends at the caller's next record.
    client.recordAt(base + 0.06, TraceKind.PPCALL, 0, 0, 33, 0);
    client.recordAt(base + 0.07, TraceKind.NOTIFY, 0, 0, 0, 0);
    server.recordAt(base + 0.5, TraceKind.PROTECTED_REPLIED, 1, 0, 33, 0, 0);
    const serves = slices(trace, "protected");
    const calls = slices(trace, "ppcall");
    assert.equal(serves.length, 3);
    assert.ok(serves[1]!.ts >= us(base + 0.03) - 1e-3, `serving 2 starts at ${serves[1]!.ts - us(base)} µs`);
    for (let k = 1; k < serves.length; k++) assert.ok(serves[k]!.ts >= serves[k - 1]!.ts + serves[k - 1]!.dur! - 1e-3, "servings do not overlap");
    assert.ok(calls[2]!.ts + calls[2]!.dur! <= us(base + 0.07) + 1e-3, `call 3 ends at ${calls[2]!.ts + calls[2]!.dur! - us(base)} µs`);
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(trace.file()))), []);
  });

  it("the tick times the calls in the newest records it samples; the trace file joins every call", () => {
    const { trace, stats, client, server, base } = pair();
    for (let b = 1; b <= 100; b++) {
      client.recordAt(base + b * 0.01, TraceKind.PPCALL, 0, 0, b, 0);
      server.recordAt(base + b * 0.01 + 0.002, TraceKind.PROTECTED_REPLIED, 1, 0, b, 0, 0);
    }
    trace.observe();
    assert.equal(stats.channels[0]!.ppcalls, 100, "counted by the PD, every one");
    assert.equal(stats.channels[0]!.callLatency.summary().count, 64, "calls 37-100: the newest 64 records of each end");
    assert.ok(Math.abs(stats.channels[0]!.callLatency.summary().maxNs - 2002) <= 32, String(stats.channels[0]!.callLatency.summary().maxNs));
    const file = trace.file();
    const calls = file.traceEvents.filter((e) => e.ph === "X" && e.cat === "ppcall");
    assert.ok(calls.length === 100 && calls.every((e) => Math.abs(e.dur! - 2.002) < 2e-3), calls.map((e) => e.dur).join(" "));
    assert.equal(file.traceEvents.filter((e) => e.ph === "s").length, 200, "each call to its serving and back");
    trace.observe();
    assert.equal(stats.channels[0]!.callLatency.summary().count, 64, "nothing is timed twice");
  });

  it("counts what the PD counted on the channels it holds, on its side, and nothing it counted elsewhere; the copy skips the records", () => {
    const { trace, stats, client, server, base } = pair();
    let b = 0;
    const calls = (n: number): void => {
      for (let k = 0; k < n; k++) {
        b++;
        client.recordAt(base + b * 0.001, TraceKind.PPCALL, 0, 0, b, 0);
        server.recordAt(base + b * 0.001 + 0.0005, TraceKind.PROTECTED_REPLIED, 1, 0, b, 0, 0);
      }
    };
    calls(20);
    client.recordAt(base + 1e6, TraceKind.PPCALL, 0, 0, 99, 0); // from the future: counted (the PD's word), skipped when copied
    client.recordAt(base + 0.03, TraceKind.PPCALL, 5, 0, 1, 0); // a channel the client does not hold
    client.recordAt(base + 0.03, TraceKind.PPCALL, 1000, 0, 1, 0); // out of every channel's range (lane 40, not held)
    server.recordAt(base + 0.03, TraceKind.PPCALL, 1, 0, 1, 0); // the server's end does not call
    calls(20);
    client.recordAt(base + 0.05, TraceKind.NOTIFY, 0, 0, 0, 0);
    trace.observe();
    calls(24);
    trace.observe();
    assert.equal(stats.channels[0]!.ppcalls, 65);
    assert.equal(stats.pds.get("server")!.ops[Operation.ppcall], 0);
    assert.equal(stats.pds.get("server")!.ops[Operation.protected], 64);
    assert.equal(stats.channels[0]!.notifies, 1);
    assert.equal(trace.totals().skipped, 0, "nothing copied yet");
    trace.collect();
    assert.equal(trace.totals().skipped, 4);
    assert.equal(trace.totals().records, 64 * 2 + 5);
  });

  it("keeps the last eventsPerPd records of a PD once it has recorded more than the recorder's first 1,024", () => {
    const stats = new StatsCollector();
    const trace = new KernelTrace({ eventsPerPd: 3000, recordsPerPd: 4096 }, stats, (pd, why) => assert.fail(`${pd}: ${why}`));
    const boot = trace.add({ name: "client", pid: 1, ends: [{ id: 0, channel: 0, peer: "server" }] }, stats.addPd("client", 1));
    const client = new TraceRingWriter(boot.buffer, boot.timeOrigin);
    const base = performance.now();
    for (let n = 0; n < 5000; n++) {
      client.recordAt(base + n * 1e-4, TraceKind.NOTIFY, 0, n, 0, 0); // `a` numbers them
      if (n % 1500 === 1499) trace.collect(); // copies of 1,500, 1,500, 1,500 and 500 records: the recorder grows at the second
    }
    trace.collect();
    trace.observe();
    assert.deepEqual(trace.totals(), { records: 5000, dropped: 0, skipped: 0, evicted: 2000 });
    const notifies = trace.file().traceEvents.filter((e) => e.cat === "notify");
    assert.equal(notifies.length, 3000);
    assert.ok(Math.abs(notifies[0]!.ts - (base + 2000 * 1e-4) * 1000) < 1e-3, "the oldest kept is record 2,000");
    assert.equal(stats.channels[0]!.notifies, 5000);
  });

  it("a record on the wrong side of the channel is skipped: no PPCALL from the server, no serving from the client; nor a retired kind", () => {
    const { trace, stats, client, server, base } = pair();
    server.recordAt(base + 0.01, TraceKind.PPCALL, 1, 0, 1, 0);
    client.recordAt(base + 0.02, TraceKind.PROTECTED_REPLIED, 0, 0, 1, 0, 0);
    client.recordCall(TraceKind.PROTECTED, 0, base + 0.02, 1, 0, 0);
    // Kinds 1-4 (a call's and a serving's begin and end) are no longer written: a PD that writes them is skipped.
    client.recordAt(base + 0.03, TraceKind.PPCALL_BEGIN, 0, 0, 2, 0);
    client.recordAt(base + 0.04, TraceKind.PPCALL_END, 0, 0, 2, 0);
    server.recordAt(base + 0.03, TraceKind.PROTECTED_BEGIN, 1, 0, 2, 0);
    server.recordAt(base + 0.04, TraceKind.PROTECTED_END, 1, 0, 2, 0);
    trace.observe();
    trace.collect();
    assert.equal(trace.totals().skipped, 7);
    assert.equal(trace.file().traceEvents.filter((e) => e.ph === "X").length, 0, "nothing decoded from them");
    assert.equal(stats.channels[0]!.ppcalls, 0);
    assert.equal(stats.channels[0]!.callLatency.summary().count, 0);
  });
});

describe("the kernel joins an endpoint call's two records", () => {
  /** A kernel trace of two PDs, "client" (track 1) and "server" (track 2), and each one's ring writer. */
  const clientAndServer = () => {
    const stats = new StatsCollector();
    const trace = new KernelTrace({}, stats, (pd, why) => assert.fail(`${pd}: ${why}`));
    const a = trace.add({ name: "client", pid: 1, ends: [] }, stats.addPd("client", 1));
    const b = trace.add({ name: "server", pid: 2, ends: [] }, stats.addPd("server", 2));
    const client = new TraceRingWriter(a.buffer, a.timeOrigin);
    const server = new TraceRingWriter(b.buffer, b.timeOrigin);
    const base = performance.now();
    return { stats, trace, client, server, base };
  };

  it("the caller's ENDPOINT_CALL gets its round trip from the receiver's reply, whichever is read first, in the statistics and the file; kind 10 is skipped", () => {
    const { stats, trace, client, server, base } = clientAndServer();
    client.recordAt(base + 0.01, TraceKind.ENDPOINT_CALL, 5, 0, 1, 3);
    server.recordAt(base + 0.02, TraceKind.ENDPOINT_RECEIVE, 5, 0, 1, 3);
    server.recordAt(base + 0.03, TraceKind.ENDPOINT_REPLY, 5, 0, 1, 4);
    trace.observe();
    trace.collect();
    server.recordAt(base + 0.05, TraceKind.ENDPOINT_REPLY, 5, 0, 2, 4); // read before its call
    trace.observe();
    trace.collect();
    client.recordAt(base + 0.04, TraceKind.ENDPOINT_CALL, 5, 0, 2, 3);
    client.recordAt(base + 0.06, 10 as TraceKind, 5, 0, 2, 0);
    trace.observe();
    assert.equal(stats.endpoints.get(5)!.callLatency.summary().count, 2, "the tick's samples time SEQ 1 and SEQ 2");
    assert.equal(stats.endpoints.get(5)!.calls, 2);
    const file = trace.file();
    const calls = file.traceEvents.filter((e) => e.ph === "X" && e.name === "call ep 5");
    assert.deepEqual(calls.map((e) => Math.round(e.dur! * 1000)), [20_002, 10_002], "µs to ns: each call until just after its reply");
    assert.equal(file.traceEvents.filter((e) => e.ph === "s").length, 3, "call 1 to its receive, both replies to their calls");
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    assert.equal(stats.endpoints.get(5)!.callLatency.summary().count, 2);
    assert.equal(trace.totals().skipped, 1);
  });

  it("a call the receiver's spin took has its receive in the reply's record (ENDPOINT_REPLIED), or in a RECEIVED_BY_SPIN receive: dated from the call, never before the receiver's previous record, at the record when the call is unknown", () => {
    const { stats, trace, client, server, base } = clientAndServer();
    client.recordAt(base + 0.01, TraceKind.ENDPOINT_CALL, 5, 0, 1, 3);
    client.recordAt(base + 0.04, TraceKind.ENDPOINT_CALL, 5, 0, 2, 3);
    client.recordAt(base + 0.065, TraceKind.ENDPOINT_CALL, 5, 0, 3, 3);
    server.recordAt(base + 0.03, TraceKind.ENDPOINT_REPLIED, 5, 0, 1, 4, 3);
    server.recordAt(base + 0.05, TraceKind.ENDPOINT_REPLY, 5, 1, 9, 0); // another sender's call
    server.recordAt(base + 0.06, TraceKind.ENDPOINT_REPLIED, 5, 0, 2, 4, 3); // its call was published before 0.05
    server.recordAt(base + 0.07, TraceKind.ENDPOINT_RECEIVE, 5, 0, 3, 3, RECEIVED_BY_SPIN); // taken at 0.065, written when the server took another
    server.recordAt(base + 0.08, TraceKind.ENDPOINT_REPLIED, 5, 0, 7, 4, 3); // no record of its call
    server.recordAt(base + 0.09, TraceKind.ENDPOINT_REPLY, 5, 0, 3, 4);
    trace.collect();
    const file = trace.file();
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    const µs = (ms: number): number => Math.round((ms - base) * 1e6) / 1000; // from base, to the ns
    // seq 1: 2 ns after its call's stamp (room for the call's flow); seq 2: not before the server's previous record.
    const on = (tid: number, name: string): TraceEvent[] => file.traceEvents.filter((e) => e.ph === "X" && e.tid === tid && e.name === name);
    assert.deepEqual(on(2, "receive ep 5").map((e) => [e.args?.["seq"], µs(e.ts / 1000), e.args?.["label"]]), [[1, 10.002, 3], [2, 50, 3], [3, 65.002, 3], [7, 80, 3]]);
    assert.deepEqual(on(2, "reply ep 5").map((e) => [e.args?.["seq"], µs(e.ts / 1000), e.args?.["label"]]), [[1, 30, 4], [9, 50, 0], [2, 60, 4], [7, 80, 4], [3, 90, 4]]);
    // Each call to its receive and its reply to the call's end, for the three calls on record: 6 flows.
    assert.equal(file.traceEvents.filter((e) => e.ph === "s").length, 6);
    trace.observe();
    const ops = stats.pds.get("server")!.ops;
    assert.deepEqual([ops[Operation.receive], ops[Operation.reply]], [4, 5], "a reply with its receive counts as both");
    assert.equal(stats.endpoints.get(5)!.receives, 4);
    assert.equal(trace.totals().skipped, 0);
  });

  it("a reply stamped at the moment its caller stamps its next call still joins the call's end (the caller saw it first)", () => {
    const { trace, client, server, base } = clientAndServer();
    // The receiver was slow to stamp reply 1 after publishing it: the caller saw it, published call 2 and stamped
    // that at the same instant. Call 1 ends there, and its reply is placed just inside it, before the caller saw it.
    client.recordAt(base + 0.01, TraceKind.ENDPOINT_CALL, 5, 0, 1, 3);
    client.recordAt(base + 0.03, TraceKind.ENDPOINT_CALL, 5, 0, 2, 3);
    server.recordAt(base + 0.03, TraceKind.ENDPOINT_REPLIED, 5, 0, 1, 4, 3);
    server.recordAt(base + 0.05, TraceKind.ENDPOINT_REPLIED, 5, 0, 2, 4, 3);
    trace.collect();
    const file = trace.file();
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    assert.deepEqual(file.traceEvents.filter((e) => e.ph === "s").map((e) => [e.name, e.tid]), [["message", 1], ["reply", 2], ["message", 1], ["reply", 2]], "each call to its receive, each reply to its call's end");
  });

  it("the other side's word moves no reply back over the receiver's receive, and no call back over the caller's previous record: the flow is dropped instead", () => {
    const { trace, client, server, base } = clientAndServer();
    // Call 1: its caller says it went on at 0.011, before the reply it waited for (0.030).
    client.recordAt(base + 0.01, TraceKind.ENDPOINT_CALL, 5, 0, 1, 3);
    client.recordAt(base + 0.011, TraceKind.ENDPOINT_SEND, 5, 1, 7, 0);
    // Call 2: its receiver says it took it at 0.040, before the caller's previous record (0.045) and its call (0.050).
    client.recordAt(base + 0.045, TraceKind.ENDPOINT_SEND, 5, 1, 8, 0);
    client.recordAt(base + 0.05, TraceKind.ENDPOINT_CALL, 5, 0, 2, 3);
    server.recordAt(base + 0.02, TraceKind.ENDPOINT_RECEIVE, 5, 0, 1, 3);
    server.recordAt(base + 0.03, TraceKind.ENDPOINT_REPLY, 5, 0, 1, 4);
    server.recordAt(base + 0.04, TraceKind.ENDPOINT_RECEIVE, 5, 0, 2, 3);
    server.recordAt(base + 0.06, TraceKind.ENDPOINT_REPLY, 5, 0, 2, 4);
    trace.collect();
    const file = trace.file();
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(file))), []);
    const µs = (ts: number): number => Math.round((ts / 1000 - base) * 1e6) / 1000;
    const track = (tid: number): [string, number][] => file.traceEvents.filter((e) => e.ph === "X" && e.tid === tid).map((e) => [`${e.name} ${String(e.args?.["seq"])}`, µs(e.ts)]);
    assert.deepEqual(track(2), [["receive ep 5 1", 20], ["reply ep 5 1", 30], ["receive ep 5 2", 40], ["reply ep 5 2", 60]], "the server's track as it stamped it");
    assert.deepEqual(track(1), [["call ep 5 1", 10], ["send ep 5 7", 11], ["send ep 5 8", 45], ["call ep 5 2", 50]], "the client's track as it stamped it");
    // Call 1's message flow and call 2's reply flow fit; call 1's reply and call 2's message do not.
    assert.equal(file.traceEvents.filter((e) => e.ph === "s").length, 2);
  });
});

describe("the kernel tick reads the newest records of a ring and its counts, never the ring", () => {
  /** A client (end 0, pp) and a server (end 1) on channel 0, and the faults the trace reported. */
  function two(broken: string[] = []): { trace: KernelTrace; stats: StatsCollector; client: TraceRingWriter; server: TraceRingWriter; clientRing: SharedArrayBuffer; base: number } {
    const stats = new StatsCollector();
    const trace = new KernelTrace({}, stats, (pd) => broken.push(pd));
    const a = trace.add({ name: "client", pid: 1, ends: [{ id: 0, channel: 0, peer: "server", calls: true }] }, stats.addPd("client", 1));
    const b = trace.add({ name: "server", pid: 2, ends: [{ id: 1, channel: 0, peer: "client", serves: true }] }, stats.addPd("server", 2));
    return { trace, stats, client: new TraceRingWriter(a.buffer, a.timeOrigin), server: new TraceRingWriter(b.buffer, b.timeOrigin), clientRing: a.buffer, base: performance.now() };
  }
  const calls = (client: TraceRingWriter, server: TraceRingWriter, base: number, from: number, to: number): void => {
    for (let b = from; b <= to; b++) {
      client.recordAt(base + b * 1e-4, TraceKind.PPCALL, 0, 0, b, 0);
      server.recordAt(base + b * 1e-4 + 5e-5, TraceKind.PROTECTED_REPLIED, 1, 0, b, 0, 0);
    }
  };

  it("each tick times the calls among the newest 64 records of each ring, and copies nothing out", () => {
    const { trace, stats, client, server, clientRing, base } = two();
    calls(client, server, base, 1, 1000);
    trace.tick(performance.now() + 1);
    assert.equal(stats.channels[0]!.callLatency.summary().count, 64);
    calls(client, server, base, 1001, 1010);
    trace.tick(performance.now() + 1);
    assert.equal(stats.channels[0]!.callLatency.summary().count, 74, "only what is new since the last tick");
    trace.tick(performance.now() + 1);
    assert.equal(stats.channels[0]!.callLatency.summary().count, 74, "a ring that did not move is not read");
    assert.equal(Atomics.load(new Int32Array(clientRing), TRACE_I32.READ), 0, "no record copied");
    trace.file();
    assert.equal(Atomics.load(new Int32Array(clientRing), TRACE_I32.READ), 1010, "copied once asked");
  });

  it("reads the count tables at its first tick, then once COUNT_GAP_MS has passed; statistics count at once", () => {
    const { trace, stats, client, server, base } = two();
    calls(client, server, base, 1, 10);
    const t0 = Math.floor(performance.now()); // whole ms: t0 + 1000 - t0 is then exactly 1000
    trace.tick(t0);
    assert.equal(stats.channels[0]!.ppcalls, 10);
    calls(client, server, base, 11, 20);
    trace.tick(t0 + 999);
    assert.equal(stats.channels[0]!.ppcalls, 10, "under a second since the last count");
    trace.tick(t0 + 1000);
    assert.equal(stats.channels[0]!.ppcalls, 20);
    calls(client, server, base, 21, 25);
    trace.observe();
    assert.equal(stats.channels[0]!.ppcalls, 25);
  });

  it("a HEAD a million records ahead costs the kernel one ring at most and faults nobody; one that moves back refuses that ring alone", () => {
    const broken: string[] = [];
    const { trace, stats, client, server, clientRing, base } = two(broken);
    calls(client, server, base, 1, 3);
    const head = new Int32Array(clientRing);
    Atomics.store(head, TRACE_I32.HEAD, 1_000_000);
    trace.tick(performance.now());
    assert.deepEqual(broken, []);
    trace.collect();
    // The ring's last 262,143 slots: empty (kind 0) but for the three records it did write, still in slots 0-2.
    assert.equal(trace.totals().skipped, 262_140);
    assert.equal(trace.totals().dropped, 1_000_000 - 262_143, "what no ring could have held");
    Atomics.store(head, TRACE_I32.HEAD, 10);
    trace.tick(performance.now());
    assert.deepEqual(broken, ["client"]);
    calls(client, server, base, 4, 5); // the client's writer goes on from its own HEAD: its records are not read
    trace.tick(performance.now());
    assert.deepEqual(broken, ["client"], "faulted once");
    assert.equal(trace.totals().records, 1_000_000 + 5, "the refused ring reads as it last was");
    assert.equal(stats.channels[0]!.callLatency.summary().count, 0, "the client's records of calls 4 and 5 were never read");
  });
});

describe("a traced run of examples/ipc", () => {
  it("is Trace Event JSON, one track per PD, with flows joining the ppcall to protected() and back", async () => {
    const file = new URL("../examples/ipc/ipc.system", import.meta.url).pathname;
    const parsed = parseSystem(readFileSync(file, "utf8"), file);
    assert.ok(parsed.ok);
    const system = await boot(resolveImages(parsed.system, file, new Map()), { trace: true, onOutput: () => undefined });
    await system.whenIdle();
    await system.shutdown();
    const trace = system.observer.traceFile();
    assert.ok(trace !== undefined);
    const json: unknown = JSON.parse(JSON.stringify(trace));
    assert.deepEqual(checkTraceFile(json), []);
    const events = trace.traceEvents;
    const threads = events.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => `${e.tid} ${String(e.args?.["name"])}`);
    assert.deepEqual(threads.sort(), ["0 kernel", "1 PD client", "2 PD server"]);
    const ppcall = events.find((e) => e.ph === "X" && e.cat === "ppcall")!;
    const serve = events.find((e) => e.ph === "X" && e.cat === "protected")!;
    assert.equal(ppcall.name, "ppcall → server");
    assert.equal(ppcall.tid, 1);
    assert.equal(serve.name, "protected ← client");
    assert.equal(serve.tid, 2);
    assert.equal(ppcall.args?.["label"], 1);
    const within = (e: TraceEvent, slice: TraceEvent): boolean => e.tid === slice.tid && slice.ts <= e.ts && e.ts <= slice.ts + slice.dur!;
    const flows = new Map<number, { s?: TraceEvent; f?: TraceEvent }>();
    for (const e of events) if (e.ph === "s" || e.ph === "f") flows.set(e.id!, { ...flows.get(e.id!), [e.ph]: e });
    const joined = [...flows.values()].map((f) => (f.s !== undefined && f.f !== undefined && within(f.s, ppcall) && within(f.f, serve) ? "call" : f.s !== undefined && f.f !== undefined && within(f.s, serve) && within(f.f, ppcall) ? "reply" : "other"));
    assert.deepEqual(joined.sort(), ["call", "reply"]);
    // The statistics saw the same call.
    const channel = system.stats().channels[0]!;
    assert.equal(channel.ppcalls, 1);
    assert.equal(channel.callLatency.count, 1);
    assert.ok(channel.callLatency.p50Ns > 0 && channel.callLatency.p50Ns <= channel.callLatency.maxNs);
  });

  it("traces async operations too: callAsync, sendAsync, and ring batches, with flows from each call to its receive", async () => {
    const program = new URL("programs/trace-async.ts", import.meta.url).pathname;
    const lines: string[] = [];
    const system = await boot(
      { protectionDomains: ["server", "client"].map((name, i) => ({ name, priority: 10 - i, program })), channels: [{ ends: [{ pd: "server", id: 0 }, { pd: "client", id: 0 }] }] },
      { trace: true, asyncChannels: [{ name: "up", producers: ["client"], consumer: "server", capacity: 8 }], onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) },
    );
    await system.whenIdle();
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    assert.deepEqual(lines.sort(), ["client: client got ONE TWO, published 3", "server: server took 3"]);
    const trace = system.observer.traceFile()!;
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(trace))), []);
    const on = (pd: number, cat: string): string[] => trace.traceEvents.filter((e) => e.tid === pd && e.cat === cat && e.ph === "X").map((e) => e.name.replace(/ep \d+/, "ep N"));
    const [server, client] = [1, 2];
    assert.deepEqual(on(client, "endpoint"), ["call ep N", "call ep N", "send ep N"]);
    assert.deepEqual(on(server, "endpoint"), ["receive ep N", "reply ep N", "receive ep N", "reply ep N", "receive ep N"]);
    assert.deepEqual(on(client, "ring"), ["publish ×3 up (producer)"]);
    // The batch may reach the server in more than one take: every take is one record, three messages in all.
    assert.ok(on(server, "ring").every((name) => /^receive ×\d+ up \(consumer\)$/.test(name)), on(server, "ring").join(", "));
    assert.equal(on(server, "ring").reduce((n, name) => n + Number(/×(\d+)/.exec(name)![1]), 0), 3);
    // Each call joins its receive and its reply joins the call's end; the send joins its receive: 5 flows.
    assert.equal(trace.traceEvents.filter((e) => e.ph === "s").length, 5);
    const stats = system.stats();
    const ops = (name: string): Readonly<Record<string, number>> => stats.pds.find((p) => p.name === name)!.operations;
    assert.deepEqual(ops("client"), { send: 1, call: 2, "ring publish": 1, "ring messages sent": 3 });
    assert.equal(ops("server")["receive"], 3);
    assert.equal(ops("server")["reply"], 2);
    assert.equal(ops("server")["ring messages received"], 3);
    assert.equal(stats.endpoints[0]!.callLatency.count, 2, "both calls are timed: each was among its tick's newest records");
  });

  it("records every synchronous endpoint call's receive once, inside the call, with its label, whether the receive loop's spin, its first poll after a reply, or neither took it", async () => {
    const program = new URL("programs/trace-endpoint.ts", import.meta.url).pathname;
    const { CALLS } = await import("./programs/trace-endpoint.ts");
    const lines: string[] = [];
    const system = await boot(
      { protectionDomains: ["server", "a", "b"].map((name, i) => ({ name, priority: 10 - i, program })), channels: [{ ends: [{ pd: "server", id: 0 }, { pd: "a", id: 0 }] }, { ends: [{ pd: "server", id: 1 }, { pd: "b", id: 0 }] }] },
      { trace: true, onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) },
    );
    await system.whenIdle();
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    assert.deepEqual(lines.sort(), [`a: a made ${CALLS} calls, 0 wrong`, `b: b made ${CALLS} calls, 0 wrong`, `server: server answered ${2 * CALLS}`]);
    const trace = system.observer.traceFile()!;
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(trace))), []);
    const server = 1;
    const byMessage = (name: string, tid?: number): Map<string, TraceEvent[]> => {
      const m = new Map<string, TraceEvent[]>();
      for (const e of trace.traceEvents) {
        if (e.ph !== "X" || !e.name.startsWith(`${name} ep `) || (tid !== undefined && e.tid !== tid)) continue;
        const key = `${String(e.args?.["slot"])}:${String(e.args?.["seq"])}`;
        m.set(key, [...(m.get(key) ?? []), e]);
      }
      return m;
    };
    const calls = byMessage("call");
    const receives = byMessage("receive", server);
    assert.equal(calls.size, 2 * CALLS);
    assert.deepEqual([...receives.keys()].sort(), [...calls.keys()].sort(), "one receive for each call");
    for (const [key, [c]] of calls) {
      const r = receives.get(key)!;
      assert.equal(r.length, 1, `message ${key}: ${r.length} receives`);
      assert.equal(r[0]!.args?.["label"], c!.args?.["label"], `message ${key}: the receive has the call's label`);
      // Times are µs with ns resolution: 1 ns of slack for rounding.
      assert.ok(r[0]!.ts >= c!.ts - 1e-3 && r[0]!.ts <= c!.ts + c!.dur! + 1e-3, `message ${key}: received at ${r[0]!.ts}, outside its call [${c!.ts}, +${c!.dur}]`);
    }
    // Each call to its receive and its reply to the call's end.
    assert.equal(trace.traceEvents.filter((e) => e.ph === "s").length, 4 * CALLS);
    const ops = system.stats().pds.find((p) => p.name === "server")!.operations;
    assert.deepEqual([ops["receive"], ops["reply"]], [2 * CALLS, 2 * CALLS]);
  });

  it("sampled (as the dashboard traces), records calls 1, 65, 129 on both ends, joined, and counts 64 for each", async () => {
    const program = new URL("programs/trace-many.ts", import.meta.url).pathname;
    const system = await boot(
      { protectionDomains: ["client", "server"].map((name, i) => ({ name, priority: 10 + i, program })), channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 1 }] }] },
      { trace: { sampleEvery: 64 }, onOutput: () => undefined },
    );
    await system.whenIdle();
    await system.shutdown();
    assert.deepEqual(system.faults, []);
    const trace = system.observer.traceFile()!;
    assert.deepEqual(checkTraceFile(JSON.parse(JSON.stringify(trace))), []);
    const calls = (cat: string): unknown[] => trace.traceEvents.filter((e) => e.ph === "X" && e.cat === cat).map((e) => e.args?.["call"]);
    assert.deepEqual(calls("ppcall"), [1, 65, 129]);
    assert.deepEqual(calls("protected"), [1, 65, 129]);
    assert.equal(trace.traceEvents.filter((e) => e.ph === "s").length, 6, "each sampled call joined to its serving and back");
    const stats = system.stats();
    assert.equal(stats.sampleEvery, 64);
    assert.equal(stats.channels[0]!.ppcalls, 3 * 64);
    assert.equal(stats.channels[0]!.callLatency.count, 3);
    assert.equal(stats.trace.skipped, 0);
  });

  it("untraced, a system has no trace file and counts no operations", async () => {
    const file = new URL("../examples/ipc/ipc.system", import.meta.url).pathname;
    const parsed = parseSystem(readFileSync(file, "utf8"), file);
    assert.ok(parsed.ok);
    const system = await boot(resolveImages(parsed.system, file, new Map()), { onOutput: () => undefined });
    await system.whenIdle();
    await system.shutdown();
    assert.equal(system.observer.traceFile(), undefined);
    const stats = system.stats();
    assert.equal(stats.traced, false);
    assert.deepEqual(stats.pds.map((p) => [p.name, p.operations, p.outputLines]), [["client", {}, 3], ["server", {}, 3]]);
  });
});
