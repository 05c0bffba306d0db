// The memory server: first-fit allocation in the shared heap region, 16-byte aligned, answering seed 004's
// mem_request. A free of an address it never handed out is refused (an error reply, not a crash).
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { memoryRegion } from "isokit/regions";
import { serveL4 } from "isokit/l4";
import { HEAP_BASE, MEM_ALLOC, MEM_FREE, Memory } from "./services.ts";

const ALIGN = 16;
/** Free extents as [offset, size], sorted by offset; allocated blocks by offset. */
let free: [number, number][] | undefined;
const allocated = new Map<number, number>();

function alloc(size: number): number {
  free ??= [[0, memoryRegion("heap").size]];
  const need = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
  const i = free.findIndex(([, length]) => length >= need);
  if (i < 0) throw new Error(`out of heap for ${size} bytes`);
  const [offset, length] = free[i]!;
  if (length === need) free.splice(i, 1);
  else free[i] = [offset + need, length - need];
  allocated.set(offset, need);
  return HEAP_BASE + offset;
}

function release(addr: number): number {
  const offset = addr - HEAP_BASE;
  const size = allocated.get(offset);
  if (size === undefined) throw new Error(`free of 0x${addr.toString(16)}, which was never allocated`);
  allocated.delete(offset);
  free!.push([offset, size]);
  free!.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i + 1 < free!.length; ) {
    const [o, s] = free![i]!;
    if (o + s === free![i + 1]![0]) free!.splice(i, 2, [o, s + free![i + 1]![1]]);
    else i++;
  }
  return addr;
}

const dispatch = serveL4(
  Memory.handle(({ op, size, addr }) => {
    if (op === MEM_ALLOC) {
      const at = alloc(size);
      debugPrintln(`alloc ${size} -> 0x${at.toString(16)}`);
      return { addr: at };
    }
    if (op === MEM_FREE) {
      debugPrintln(`free 0x${addr.toString(16)}`);
      return { addr: release(addr) };
    }
    throw new Error(`unknown op ${op}`);
  }),
);

export default protectionDomain({
  protected: (channel, info) => dispatch(channel, info),
});
