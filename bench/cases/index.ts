// Every case module, in the order the table shows them; each default-exports `readonly AnyCase[]`. Peers come
// before isokit's own cases so the ratios read top-down. pending.ts is last: a runnable case elsewhere with
// the same id replaces its skipped row.
import { registry, type AnyCase } from "../harness.ts";
import boot from "./boot.ts";
import channel from "./channel.ts";
import cli from "./cli.ts";
import codec from "./codec.ts";
import comlink from "./comlink.ts";
import confined from "./confined.ts";
import endpoint from "./endpoint.ts";
import floor from "./floor.ts";
import hostile from "./hostile.ts";
import pending from "./pending.ts";
import restart from "./restart.ts";
import postmessage from "./postmessage.ts";
import ppcall from "./ppcall.ts";
import scale from "./scale.ts";
import trace from "./trace.ts";

export const allCases: readonly AnyCase[] = registry([floor, postmessage, comlink, ppcall, scale, boot, restart, endpoint, confined, hostile, channel, codec, cli, trace, pending]);
