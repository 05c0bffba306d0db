// What the L4 hostile test's PDs share: one service, one lent layout, and the label of a refused lend.
import { defineLayout, defineService, string, struct, u32 } from "../../../src/index.ts";

/** Adds two words: a reply out of range is possible for in-range requests (2^52 + 2^52). */
export const Add = defineService({ name: "add", label: 0x42, request: ["a", "b"], reply: ["sum"] });
export const Counter = defineLayout(struct({ count: u32, note: string(16) }));
export const NOT_A_LEND = 98;
/** Channels at the server: the hostile client's L4 and lend calls, then the honest client's. */
export const SERVER_END = { HOSTILE_L4: 1, HOSTILE_LEND: 2, HONEST_L4: 3, HONEST_LEND: 4 } as const;
