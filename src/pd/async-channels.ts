/**
 * A PD's ends of the asynchronous channels wired at boot (`BootOptions.asyncChannels`). Each end is attached
 * once, at first use, and the same object is returned after: a ring has exactly one producer and one consumer.
 *
 * Across a restart of the PD at the other end (docs/supervision.md), the kernel wires the channel again on new
 * rings (kernel/async-channels.ts) and marks the old ones dead, so the end held here fails `PeerDied` (after
 * draining, for a consumer). Asking again — `asyncProducer(name)` / `asyncConsumer(name)` — then returns the
 * end wired to the peer's new generation: once this end sees a ring's peer dead (one `Atomics.load` of the
 * ring's FLAGS per call, and per ring for a consumer), it asks the kernel once (`async-end` syscall) for the
 * channel as wired now. A peer that died without a restart leaves the same rings: the dead end is returned, and
 * says so. The kernel rewires before it marks a ring dead, so one question is always enough.
 */

import { IpcError } from "../errors.ts";
import { AsyncConsumer, AsyncProducer, type ConsumerDescriptor, type ProducerDescriptor } from "../ipc/async/index.ts";
import { fitsRing, RingFlag, RingProducer } from "../shm/ring.ts";
import { currentPd } from "./context.ts";

/** Reads a ring's FLAGS word (a RingView over the ring; it never writes, nor takes a role). */
type Probe = () => number;

function probe(ring: SharedArrayBuffer, geometry: { readonly capacity: number; readonly slotBytes: number }): Probe {
  const view = new RingProducer(ring, geometry);
  return () => view.flags();
}

interface HeldProducer {
  readonly end: AsyncProducer;
  readonly ring: SharedArrayBuffer;
  readonly flags: Probe;
  /** The kernel was asked after the consumer of this ring died. */
  asked: boolean;
}

interface HeldRing {
  readonly ring: SharedArrayBuffer;
  readonly flags: Probe;
  asked: boolean;
}

interface HeldConsumer {
  readonly end: AsyncConsumer;
  readonly rings: HeldRing[];
}

const producers = new Map<string, HeldProducer>();
const consumers = new Map<string, HeldConsumer>();

/** This PD's producer end of the async channel `name` (after its consumer was restarted, the end wired to it). */
export function asyncProducer(name: string): AsyncProducer {
  const held = producers.get(name);
  if (held !== undefined && (held.asked || (held.flags() & RingFlag.ConsumerDied) === 0)) return held.end;
  const pd = currentPd("asyncProducer");
  let descriptor: ProducerDescriptor;
  if (held === undefined) {
    descriptor = pd.asyncEnd(name, "producer", "asyncProducer") as ProducerDescriptor;
  } else {
    held.asked = true;
    descriptor = checked(pd.ipcClient("asyncProducer").asyncEnd(name, "producer"), "producer") as ProducerDescriptor;
    if (descriptor.ring === held.ring) return held.end; // not rewired: the consumer died for good
  }
  const end = AsyncProducer.attach(descriptor);
  producers.set(name, { end, ring: descriptor.ring, flags: probe(descriptor.ring, descriptor), asked: false });
  return end;
}

/**
 * This PD's consumer end of the async channel `name`. After a producer was restarted, the same end drains that
 * producer's new ring too (or, if every ring it had has ended, a new end drains the channel as wired now).
 */
export function asyncConsumer(name: string): AsyncConsumer {
  const held = consumers.get(name);
  if (held !== undefined && !held.rings.some((r) => !r.asked && (r.flags() & RingFlag.ProducerDied) !== 0)) return held.end;
  const pd = currentPd("asyncConsumer");
  if (held === undefined) {
    const descriptor = pd.asyncEnd(name, "consumer", "asyncConsumer") as ConsumerDescriptor;
    const end = AsyncConsumer.attach(descriptor);
    consumers.set(name, { end, rings: descriptor.rings.map((ring) => ({ ring, flags: probe(ring, descriptor), asked: false })) });
    return end;
  }
  for (const r of held.rings) if ((r.flags() & RingFlag.ProducerDied) !== 0) r.asked = true;
  const descriptor = checked(pd.ipcClient("asyncConsumer").asyncEnd(name, "consumer"), "consumer") as ConsumerDescriptor;
  const known = new Set(held.rings.map((r) => r.ring));
  const added = descriptor.rings.map((ring, index) => ({ ring, index })).filter((r) => !known.has(r.ring));
  if (added.length === 0) return held.end; // not rewired: the producers that died did so for good
  if (!held.end.ended) {
    try {
      for (const { ring, index } of added) {
        // Only the ring, its number and the geometry are used (the claim is the consumer's own, never taken here).
        held.end.addProducer({ kind: "isokit.async.producer", ring, index, capacity: descriptor.capacity, slotBytes: descriptor.slotBytes, claim: descriptor.claim });
        held.rings.push({ ring, flags: probe(ring, descriptor), asked: false });
      }
      return held.end;
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "EndpointClosed") throw error;
      // this end was closed, or ended meanwhile: a new end below
    }
  }
  const end = AsyncConsumer.attach(descriptor);
  consumers.set(name, { end, rings: descriptor.rings.map((ring) => ({ ring, flags: probe(ring, descriptor), asked: false })) });
  return end;
}

/** The kernel's answer has the shape of a descriptor (attach checks the rest): rings this PD can probe. */
function checked(value: unknown, role: "producer" | "consumer"): unknown {
  if (typeof value !== "object" || value === null) throw notDescriptor(role);
  const d = value as { readonly ring?: unknown; readonly rings?: unknown };
  const rings: readonly unknown[] = role === "producer" ? [d.ring] : Array.isArray(d.rings) ? (d.rings as unknown[]) : [];
  if (rings.length === 0 || !rings.every((ring) => fitsRing(ring, d))) throw notDescriptor(role);
  return value;
}

function notDescriptor(role: "producer" | "consumer"): IpcError {
  return new IpcError("InvalidArgument", `async${role === "producer" ? "Producer" : "Consumer"}: the kernel's answer is not a ${role} descriptor`, { operation: "asyncEnd" });
}
