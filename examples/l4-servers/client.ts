// A client of both servers: allocates in the shared heap and writes there, frees, asks the scheduler who runs
// next, and shows that an unknown label or a bad free gets a typed error, not silence.
import { isIpcError } from "isokit";
import { Channel, debugPrintln, protectionDomain } from "isokit/microkit";
import { memoryRegion } from "isokit/regions";
import { defineService } from "isokit/l4";
import { HEAP_BASE, MEM_ALLOC, MEM_FREE, Memory, SCHED_ADD, SCHED_NEXT, Scheduler } from "./services.ts";

const memory = Memory.client(new Channel(1));
const scheduler = Scheduler.client(new Channel(2));

function attempt(what: string, fn: () => unknown): void {
  try {
    fn();
    debugPrintln(`${what}: ok`);
  } catch (error) {
    debugPrintln(`${what}: ${isIpcError(error) ? `${error.code}: ${error.message}` : String(error)}`);
  }
}

export default protectionDomain({
  init() {
    const heap = memoryRegion("heap").writableBytes();
    const a = memory.call({ op: MEM_ALLOC, size: 100, addr: 0 }).addr;
    const b = memory.call({ op: MEM_ALLOC, size: 20, addr: 0 }).addr;
    heap.set(new TextEncoder().encode("written in place"), b - HEAP_BASE);
    debugPrintln(`a=0x${a.toString(16)} b=0x${b.toString(16)}: '${new TextDecoder().decode(heap.subarray(b - HEAP_BASE, b - HEAP_BASE + 16))}'`);
    memory.call({ op: MEM_FREE, size: 0, addr: a });
    const c = memory.call({ op: MEM_ALLOC, size: 64, addr: 0 }).addr;
    debugPrintln(`after freeing a, a 64-byte block reuses it: ${c === a}`);
    attempt("free of an address never allocated", () => memory.call({ op: MEM_FREE, size: 0, addr: HEAP_BASE + 8 }));

    for (const [tid, priority] of [[1, 5], [2, 9], [3, 9], [4, 1]] as const) scheduler.call({ op: SCHED_ADD, tid, priority, timeslice: 10 * tid, flags: 0 });
    const order = [1, 2, 3, 4].map(() => scheduler.call({ op: SCHED_NEXT, tid: 0, priority: 0, timeslice: 0, flags: 0 }).tid);
    debugPrintln(`next to run: ${order.join(", ")}`);

    const Unknown = defineService({ name: "unknown", label: 0x9999, request: ["x"], reply: [] });
    attempt("a label the memory server does not serve", () => Unknown.client(new Channel(1)).call({ x: 1 }));
  },
});
