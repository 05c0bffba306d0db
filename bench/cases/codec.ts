// Encoding and decoding the same 9-field message three ways, in this thread: a flatipc layout written and read
// in place (layout.codec), msgpackr (msgpackr.codec) and JSON (json.codec). One operation = encode the message
// into a buffer, then decode every field back; each codec checks its result so a broken one fails the round.
import { pack, unpack } from "msgpackr";
import { bool, defineLayout, f32, f64, i16, i32, string, struct, u32, u64, u8, vec } from "../../src/layout/index.ts";
import type { BenchCase } from "../harness.ts";

const Message = defineLayout(
  struct({ id: u32, seq: u64, kind: u8, urgent: bool, x: f64, y: f32, delta: i16, name: string(24), samples: vec(i32, 8) }),
);

interface Plain {
  id: number;
  seq: bigint;
  kind: number;
  urgent: boolean;
  x: number;
  y: number;
  delta: number;
  name: string;
  samples: number[];
}

const value: Plain = { id: 42, seq: 1234567890123n, kind: 3, urgent: true, x: 3.25, y: 1.5, delta: -7, name: "sensor-17", samples: [1, 2, 3, 4] };

function check(sum: number, n: number, id: string): void {
  if (sum !== n * (42 + 3 + 1 + 10)) throw new Error(`${id}: decoded values are wrong (${sum})`);
}

function layoutRound(n: number): number {
  const bytes = new Uint8Array(new ArrayBuffer(Message.size));
  const view = Message.view(bytes);
  let sum = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    view.$set(value);
    sum += view.id + view.kind + (view.urgent ? 1 : 0) + view.samples.get(0) + view.samples.get(1) + view.samples.get(2) + view.samples.get(3);
    if (view.seq !== 1234567890123n || view.name.length !== 9 || view.x !== 3.25 || view.y !== 1.5 || view.delta !== -7) throw new Error("layout.codec: bad decode");
  }
  const elapsed = performance.now() - start;
  check(sum, n, "layout.codec");
  return (elapsed * 1000) / n;
}

function msgpackRound(n: number): number {
  let sum = 0;
  const plain = { ...value, seq: value.seq }; // msgpackr encodes a bigint as a 64-bit integer
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const decoded = unpack(pack(plain)) as Omit<Plain, "seq"> & { seq: bigint | number }; // msgpackr may give a number
    sum += decoded.id + decoded.kind + (decoded.urgent ? 1 : 0) + decoded.samples[0]! + decoded.samples[1]! + decoded.samples[2]! + decoded.samples[3]!;
    if (BigInt(decoded.seq) !== 1234567890123n || decoded.name.length !== 9 || decoded.x !== 3.25 || decoded.y !== 1.5 || decoded.delta !== -7) {
      throw new Error("msgpackr.codec: bad decode");
    }
  }
  const elapsed = performance.now() - start;
  check(sum, n, "msgpackr.codec");
  return (elapsed * 1000) / n;
}

function jsonRound(n: number): number {
  let sum = 0;
  const plain = { ...value, seq: value.seq.toString() }; // JSON has no bigint
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const decoded = JSON.parse(JSON.stringify(plain)) as Omit<Plain, "seq"> & { seq: string };
    sum += decoded.id + decoded.kind + (decoded.urgent ? 1 : 0) + decoded.samples[0]! + decoded.samples[1]! + decoded.samples[2]! + decoded.samples[3]!;
    if (BigInt(decoded.seq) !== 1234567890123n || decoded.name.length !== 9 || decoded.x !== 3.25 || decoded.y !== 1.5 || decoded.delta !== -7) {
      throw new Error("json.codec: bad decode");
    }
  }
  const elapsed = performance.now() - start;
  check(sum, n, "json.codec");
  return (elapsed * 1000) / n;
}

const cases: readonly BenchCase[] = [
  { id: "msgpackr.codec", unit: "µs/op", lowerIsBetter: true, note: "msgpackr pack + unpack of the 9-field message", run: () => Promise.resolve(msgpackRound(200_000)) },
  { id: "json.codec", unit: "µs/op", lowerIsBetter: true, baseline: ["msgpackr.codec"], note: "JSON.stringify + JSON.parse of the same message", run: () => Promise.resolve(jsonRound(200_000)) },
  {
    id: "layout.codec",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["msgpackr.codec", "json.codec"],
    note: "the message written and read in place through a flatipc layout",
    run: () => Promise.resolve(layoutRound(200_000)),
  },
];

export default cases;
