// Every case module, in the order the table shows them. Peers come first so isokit's ratios can use them.
import type { AnyCase } from "../harness.ts";
import pending from "./pending.ts";
import peers from "./peers.ts";
import ppcall from "./ppcall.ts";

export const allCases: readonly AnyCase[] = [...peers, ...ppcall, ...pending];
