/**
 * Async rings in the trace (issue #14): when the system is traced, the PD runtime installs a tracer that knows
 * the PD's async channel ends by their memory (a producer's ring, a consumer's claim word: both unique to the
 * end), and each producer and consumer made on one of them records every batch it publishes or takes, as one
 * record (`RING_PUBLISH` / `RING_RECEIVE`, `object`: the end's index in the PD's boot data, `a`: messages),
 * its messages summed in the ring's count tables.
 *
 * One PD runs per thread, so the tracer is this module's, set once at the PD's start. An end the tracer does
 * not know (made by hand from a descriptor, or rewired after a restart) records nothing; untraced, an end
 * costs one branch on a private field per operation.
 */

import { TraceKind } from "../../protocol/trace.ts";
import type { TraceRingWriter } from "../../shm/trace-ring.ts";

/** One end's hook: what a producer or consumer calls after a batch. */
export class RingTrace {
  private readonly writer: TraceRingWriter;
  private readonly index: number;

  constructor(writer: TraceRingWriter, index: number) {
    this.writer = writer;
    this.index = index;
  }

  /** `messages` (> 0) published with one store. Batches have no number: sampled by the writer's count. */
  published(messages: number): void {
    if (messages > 0 && this.writer.sampled()) {
      this.writer.record(TraceKind.RING_PUBLISH, this.index, messages, 0, 0);
      this.writer.sum(TraceKind.RING_PUBLISH, this.index, messages);
    }
  }

  /** `messages` (> 0) taken in one call. */
  received(messages: number): void {
    if (messages > 0 && this.writer.sampled()) {
      this.writer.record(TraceKind.RING_RECEIVE, this.index, messages, 0, 0);
      this.writer.sum(TraceKind.RING_RECEIVE, this.index, messages);
    }
  }
}

let ends: Map<SharedArrayBuffer, RingTrace> | undefined;

/**
 * Called by the PD runtime, traced: `held` are the PD's async ends as its boot data lists them (their index is
 * what the kernel maps back to a channel name and role).
 */
export function installRingTracer(writer: TraceRingWriter, held: readonly { readonly descriptor: unknown }[]): void {
  ends = new Map();
  held.forEach((end, index) => {
    const d = end.descriptor as { ring?: unknown; claim?: unknown; kind?: unknown } | null;
    const key = d?.kind === "isokit.async.producer" ? d.ring : d?.claim;
    if (key instanceof SharedArrayBuffer) ends!.set(key, new RingTrace(writer, index));
  });
}

/** The hook of the end whose memory is `key`, if it is traced. */
export function ringTraceOf(key: SharedArrayBuffer): RingTrace | undefined {
  return ends?.get(key);
}
