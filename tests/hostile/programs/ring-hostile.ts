// A hostile async-channel producer for tests/hostile/rings.test.ts. It never uses the runtime's AsyncProducer:
// it writes straight into the ring memory the kernel gave it (workerData.asyncChannels[i].descriptor). The
// attack is chosen by the PD's name (a PD program gets no other arguments):
//
//   evil-length     slot 0 claims 1,000,000 bytes; HEAD = 1
//   evil-chain      every slot is a full chunk flagged MORE (a split message longer than the ring); HEAD = capacity
//   evil-head       HEAD = 2^31 (far ahead of TAIL)
//   evil-claim      sets the ring's CONSUMER_CLAIM word, then MARK (for a consumer PD that waits for it)
//   evil-geometry   zeroes MAGIC, CAPACITY = 2^30, SLOT_BYTES = 8, then MARK
//   evil-exit       zeroes MAGIC and CAPACITY, then exits (the kernel marks its end dead)
//
// Offsets are those of src/shm/ring.ts (i32 words): MAGIC 0, CAPACITY 1, SLOT_BYTES 2, CONSUMER_CLAIM 7,
// HEAD 32, slots from byte 384. MARK is word 11 = 0x600d: a test-only handshake in a header word nobody uses.
import { workerData } from "node:worker_threads";
import { protectionDomain } from "../../../src/index.ts";
import type { PdBootData } from "../../../src/internal.ts";

const MORE = 0x8000_0000;
const HEAD = 32;
const DATA = 384;
const MARK = 11;

function attack(): void {
  const boot = workerData as PdBootData;
  const end = boot.asyncChannels.find((e) => e.role === "producer")!;
  const ring = (end.descriptor as { ring: SharedArrayBuffer }).ring;
  const i32 = new Int32Array(ring);
  const u32 = new Uint32Array(ring);
  const capacity = i32[1]!;
  const slotBytes = i32[2]!;
  switch (boot.name) {
    case "evil-length":
      u32[DATA / 4] = 1_000_000;
      Atomics.store(u32, HEAD, 1);
      break;
    case "evil-chain":
      for (let i = 0; i < capacity; i++) u32[(DATA + i * slotBytes) / 4] = (MORE | (slotBytes - 8)) >>> 0;
      Atomics.store(u32, HEAD, capacity);
      break;
    case "evil-head":
      Atomics.store(u32, HEAD, 0x8000_0000);
      break;
    case "evil-claim":
      Atomics.store(i32, 7, 1);
      Atomics.store(i32, MARK, 0x600d);
      break;
    case "evil-geometry":
      Atomics.store(i32, 0, 0);
      Atomics.store(i32, 1, 1 << 30);
      Atomics.store(i32, 2, 8);
      Atomics.store(i32, MARK, 0x600d);
      break;
    case "evil-exit":
      Atomics.store(i32, 0, 0);
      Atomics.store(i32, 1, 0);
      process.exit(0);
      break;
    default:
      throw new Error(`ring-hostile: no attack named '${boot.name}'`);
  }
}

export default protectionDomain({ init: attack });
