// A hostile PD: walks everything the kernel handed its worker and reports every SharedArrayBuffer it can
// reach, with the channel tag the kernel stamped into channel buffers.
import { workerData } from "node:worker_threads";
import { debugPrintln, protectionDomain } from "../../src/index.ts";
import { layout } from "../../src/internal.ts";

function collect(value: unknown, seen: Set<unknown>, out: SharedArrayBuffer[]): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof SharedArrayBuffer) {
    out.push(value);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    collect(value.buffer, seen, out);
    return;
  }
  for (const key of Reflect.ownKeys(value)) collect((value as Record<PropertyKey, unknown>)[key], seen, out);
}

export default protectionDomain({
  init() {
    const found: SharedArrayBuffer[] = [];
    collect(workerData, new Set(), found);
    const tags: number[] = [];
    let others = 0;
    for (const sab of found) {
      const i32 = new Int32Array(sab);
      if (sab.byteLength === layout.CHANNEL_BYTES && i32[layout.CHANNEL_I32.MAGIC] === layout.CHANNEL_MAGIC) {
        tags.push(i32[layout.CHANNEL_I32.TAG]!);
      } else others++;
    }
    debugPrintln(JSON.stringify({ channelTags: tags.sort((a, b) => a - b), otherBuffers: others }));
  },
  notified() {},
});
