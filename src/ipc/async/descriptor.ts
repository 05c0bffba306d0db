/**
 * What crosses to another thread: plain structured-cloneable records holding only SharedArrayBuffers and
 * numbers, so the kernel can hand an end to a PD as a capability (postMessage, workerData) and the PD attaches
 * to it.
 *
 * Trust (issue #11): the ring's memory is shared with the peer, who may write anything there. So what an end
 * relies on travels in its own descriptor, which the peer never sees (each thread gets its own clone):
 * - `capacity` and `slotBytes`, the ring's geometry as its creator made it (the header's copy can be
 *   rewritten by the peer; an end never reads it), checked against each ring's byte length at attach;
 * - `claim`, a one-word SharedArrayBuffer of the role's own: attach sets it 0 -> 1, so a second attach of the
 *   same end fails `ResourceBusy`. A producer's claim is in memory no consumer holds and the consumer's in
 *   memory no producer holds, so neither can keep the other out (a claim word in the ring header could be set
 *   by the peer, and the channel was then dead for all).
 */

import { IpcError } from "../../errors.ts";
import { fitsRing, markRingPeerDied, type RingGeometry } from "../../shm/ring.ts";

/** One producer's end: its own ring. Give it to exactly one thread. */
export interface ProducerDescriptor extends RingGeometry {
  readonly kind: "isokit.async.producer";
  /** The ring's memory (see src/shm/ring.ts for the layout). */
  readonly ring: SharedArrayBuffer;
  /** The ring's number in its channel (what the consumer reports, e.g. in a `PeerDied` message). */
  readonly index: number;
  /** This producer's claim word (4 bytes): held by this end only, never by the consumer. */
  readonly claim: SharedArrayBuffer;
}

/** The consumer's end: every producer ring known when it was made (add later ones with `addProducer`). */
export interface ConsumerDescriptor extends RingGeometry {
  readonly kind: "isokit.async.consumer";
  /** Every ring has the geometry `capacity` x `slotBytes`. */
  readonly rings: readonly SharedArrayBuffer[];
  /** The consumer's claim word (4 bytes): held by this end only, never by a producer. */
  readonly claim: SharedArrayBuffer;
}

/** A fresh claim word for one role of one end. */
export function createClaim(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

const isClaim = (value: unknown): value is SharedArrayBuffer => value instanceof SharedArrayBuffer && value.byteLength >= 4;

export function checkProducerDescriptor(value: unknown, operation = "AsyncProducer.attach"): ProducerDescriptor {
  const d = value as Partial<ProducerDescriptor> | null;
  if (typeof d !== "object" || d === null || d.kind !== "isokit.async.producer" || !fitsRing(d.ring, d) || !Number.isInteger(d.index) || !isClaim(d.claim)) {
    throw new IpcError("InvalidArgument", `${operation}: not a producer descriptor (want { kind: 'isokit.async.producer', ring, index, capacity, slotBytes, claim } from AsyncChannel)`, {
      operation,
    });
  }
  return d as ProducerDescriptor;
}

export function checkConsumerDescriptor(value: unknown): ConsumerDescriptor {
  const d = value as Partial<ConsumerDescriptor> | null;
  if (
    typeof d !== "object" ||
    d === null ||
    d.kind !== "isokit.async.consumer" ||
    !Array.isArray(d.rings) ||
    d.rings.length === 0 ||
    !d.rings.every((ring) => fitsRing(ring, d)) ||
    !isClaim(d.claim)
  ) {
    throw new IpcError("InvalidArgument", "AsyncConsumer.attach: not a consumer descriptor (want { kind: 'isokit.async.consumer', rings, capacity, slotBytes, claim } from AsyncChannel)", {
      operation: "attach",
    });
  }
  return d as ConsumerDescriptor;
}

/**
 * Takes the role whose claim word is `claim`, once.
 * @throws IpcError `ResourceBusy` if that end is already attached (in this or another thread)
 */
export function takeClaim(claim: SharedArrayBuffer, role: "producer" | "consumer", operation: string): void {
  if (Atomics.compareExchange(new Int32Array(claim, 0, 1), 0, 0, 1) !== 0) {
    throw new IpcError("ResourceBusy", `${operation}: this ${role} end is already attached; an end has exactly one holder (add a producer ring instead)`, {
      operation,
    });
  }
}

/**
 * For whoever notices that the thread holding `end` is gone (the kernel when a PD exits, a test harness on a
 * worker's 'exit'): marks that end dead and wakes its peer. The peer's waits then fail with `PeerDied` — a
 * consumer's only after it has drained what the dead producer published. Idempotent.
 *
 * Never fails because of what the dead PD wrote in its rings: it looks only at the descriptor (the caller's
 * own record) and writes FLAGS and the bells at fixed offsets (`markRingPeerDied`).
 * @throws IpcError `InvalidArgument` only for a value that is not a descriptor at all (a caller's bug)
 */
export function markPeerDied(end: ProducerDescriptor | ConsumerDescriptor): void {
  const d = end as { kind?: unknown; ring?: unknown; rings?: unknown } | null;
  const rings = d?.kind === "isokit.async.producer" ? [d.ring] : d?.kind === "isokit.async.consumer" && Array.isArray(d.rings) ? (d.rings as unknown[]) : undefined;
  if (rings === undefined || !rings.every((r) => r instanceof SharedArrayBuffer)) {
    throw new IpcError("InvalidArgument", "markPeerDied: not an async channel end's descriptor", { operation: "markPeerDied" });
  }
  const dead = d?.kind === "isokit.async.producer" ? "producer" : "consumer";
  for (const ring of rings) markRingPeerDied(ring, dead);
}
