/**
 * What crosses to another thread: plain structured-cloneable records holding only SharedArrayBuffers, so the
 * kernel can hand an end to a PD as a capability (postMessage, workerData) and the PD attaches to it.
 */

import { IpcError } from "../../errors.ts";
import { isRing, markRingPeerDied } from "../../shm/ring.ts";

/** One producer's end: its own ring. Give it to exactly one thread. */
export interface ProducerDescriptor {
  readonly kind: "isokit.async.producer";
  /** The ring's memory (see src/shm/ring.ts for the layout). */
  readonly ring: SharedArrayBuffer;
  /** The ring's number in its channel (what the consumer reports, e.g. in a `PeerDied` message). */
  readonly index: number;
}

/** The consumer's end: every producer ring known when it was made (add later ones with `addProducer`). */
export interface ConsumerDescriptor {
  readonly kind: "isokit.async.consumer";
  readonly rings: readonly SharedArrayBuffer[];
}

export function checkProducerDescriptor(value: unknown): ProducerDescriptor {
  const d = value as Partial<ProducerDescriptor> | null;
  if (typeof d !== "object" || d === null || d.kind !== "isokit.async.producer" || !isRing(d.ring) || !Number.isInteger(d.index)) {
    throw new IpcError("InvalidArgument", "AsyncProducer.attach: not a producer descriptor (want { kind: 'isokit.async.producer', ring, index })", {
      operation: "attach",
    });
  }
  return d as ProducerDescriptor;
}

export function checkConsumerDescriptor(value: unknown): ConsumerDescriptor {
  const d = value as Partial<ConsumerDescriptor> | null;
  if (typeof d !== "object" || d === null || d.kind !== "isokit.async.consumer" || !Array.isArray(d.rings) || d.rings.length === 0 || !d.rings.every(isRing)) {
    throw new IpcError("InvalidArgument", "AsyncConsumer.attach: not a consumer descriptor (want { kind: 'isokit.async.consumer', rings: [ring, ...] })", {
      operation: "attach",
    });
  }
  return d as ConsumerDescriptor;
}

/**
 * For whoever notices that the thread holding `end` is gone (the kernel when a PD exits, a test harness on a
 * worker's 'exit'): marks that end dead and wakes its peer. The peer's waits then fail with `PeerDied` — a
 * consumer's only after it has drained what the dead producer published. Idempotent.
 */
export function markPeerDied(end: ProducerDescriptor | ConsumerDescriptor): void {
  if (end.kind === "isokit.async.producer") markRingPeerDied(checkProducerDescriptor(end).ring, "producer");
  else for (const ring of checkConsumerDescriptor(end).rings) markRingPeerDied(ring, "consumer");
}
