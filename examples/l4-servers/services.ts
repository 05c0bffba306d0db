// The services' labels and packed layouts (seed 004), shared by servers and clients.
import { defineService } from "isokit/l4";

/** Where the heap region is mapped in every PD that maps it (the .system file's vaddr). */
export const HEAP_BASE = 0x2000_0000;

export const MEM_ALLOC = 1;
export const MEM_FREE = 2;

/** `struct mem_request { mem_opcode op; L4_Word_t size; L4_Word_t addr; }`, label 0; the reply's MR1 is the address. */
export const Memory = defineService({ name: "memory", label: 0, request: ["op", "size", "addr"], reply: ["addr"] });

export const SCHED_ADD = 1;
export const SCHED_REMOVE = 2;
export const SCHED_NEXT = 3;

/** `SchedRequest`: five words, label 0x1234. */
export const Scheduler = defineService({
  name: "scheduler",
  label: 0x1234,
  request: ["op", "tid", "priority", "timeslice", "flags"],
  reply: ["tid", "timeslice"],
});
