/**
 * Asynchronous channels wired at boot (`BootOptions.asyncChannels`): the kernel makes each channel's rings and
 * hands every producer PD its own ring's end and the consumer PD the consumer's end, in their boot data — as a
 * Microkit channel's buffer is handed to exactly its two PDs. The booting thread may be an end too (`HOST`).
 * When a PD dies, the kernel marks its ends dead, so the PDs at the other ends wake with `PeerDied`.
 *
 * Across a restart (docs/supervision.md) the description's wiring is reinstalled on new rings: a ring's FLAGS
 * bits are never cleared and each side keeps private counters, so an old ring cannot be made to work again.
 * When the kernel restarts PD X it first makes a new ring for each ring X was an end of (X a producer: its
 * ring; X the consumer: every producer's ring, and a fresh consumer claim), then marks the old rings dead.
 * X's next generation gets the new ends in its boot data; a PD at the other end gets them when it asks again
 * (`asyncProducer(name)` / `asyncConsumer(name)`, which ask the kernel once they see their ring's peer dead:
 * the `async-end` syscall answers `current`), and the booting thread's ends are replaced here. Rewiring before
 * marking means a peer that sees the old ring dead always finds the new one.
 */

import { IpcError } from "../errors.ts";
import { AsyncChannel, AsyncConsumer, AsyncProducer } from "../ipc/async/index.ts";
import type { ConsumerDescriptor, ProducerDescriptor } from "../ipc/async/index.ts";
import { createClaim } from "../ipc/async/descriptor.ts";
import { createRing, markRingPeerDied, ringGeometry } from "../shm/ring.ts";
import type { PdAsyncEnd } from "../protocol/control.ts";

/** The booting thread, as an end of an asynchronous channel. */
export const HOST = "@host";

export interface AsyncChannelDescription {
  /** The name each end finds the channel by (`asyncProducer(name)` / `asyncConsumer(name)`). */
  readonly name: string;
  /** PD names (or `HOST`), one ring each; every producer sends through its own ring. */
  readonly producers: readonly string[];
  /** The PD (or `HOST`) that receives from every producer, fairly. */
  readonly consumer: string;
  /** Slots per producer ring (rounded up to a power of two). */
  readonly capacity: number;
  /** Largest message in bytes (default 64). */
  readonly slotBytes?: number;
}

/** One channel as wired now: its description, the kernel's handle, and the current end of each PD. */
interface Wired {
  readonly description: AsyncChannelDescription;
  readonly channel: AsyncChannel;
  /** The current ring of each producer, by its position in `description.producers`. */
  readonly producers: ProducerDescriptor[];
  /** The consumer's current claim word (a new one with every rewiring: the old one stays taken). */
  consumerClaim: SharedArrayBuffer;
}

export class AsyncChannels {
  private readonly channels: Wired[] = [];
  private readonly hostProducers = new Map<string, AsyncProducer>();
  private readonly hostConsumers = new Map<string, AsyncConsumer>();
  private readonly wired: readonly AsyncChannelDescription[];

  /** Checks the descriptions against the system's PD names and makes every channel. */
  constructor(descriptions: readonly AsyncChannelDescription[], pdNames: ReadonlySet<string>) {
    this.wired = descriptions;
    const seen = new Set<string>();
    for (const d of descriptions) {
      const where = `boot: asyncChannels '${d.name}'`;
      const bad = (why: string): IpcError => new IpcError("InvalidSystem", `${where}: ${why}`, { operation: "boot" });
      if (typeof d.name !== "string" || d.name === "") throw bad("needs a name");
      if (seen.has(d.name)) throw bad("the name is used twice");
      seen.add(d.name);
      for (const pd of [...d.producers, d.consumer]) if (pd !== HOST && !pdNames.has(pd)) throw bad(`no protection domain '${pd}'`);
      if (d.producers.length === 0) throw bad("needs at least one producer");
      if (new Set(d.producers).size !== d.producers.length) throw bad("a producer is listed twice (each producer has one ring)");
      if (!Number.isInteger(d.capacity) || d.capacity < 1) throw bad(`capacity must be a positive integer (got ${String(d.capacity)})`);
      const channel = AsyncChannel.create(d.capacity, { producers: d.producers.length, ...(d.slotBytes === undefined ? {} : { slotBytes: d.slotBytes }) });
      const consumer = channel.consumerDescriptor();
      const wired: Wired = { description: d, channel, producers: d.producers.map((_, i) => channel.producerDescriptor(i)), consumerClaim: consumer.claim };
      this.channels.push(wired);
      d.producers.forEach((pd, i) => {
        if (pd === HOST) this.hostProducers.set(d.name, AsyncProducer.attach(wired.producers[i]!));
      });
      if (d.consumer === HOST) this.hostConsumers.set(d.name, AsyncConsumer.attach(consumer));
    }
  }

  /** The channels wired at boot (for the topology of kernel/stats.ts). */
  descriptions(): readonly { readonly name: string; readonly producers: readonly string[]; readonly consumer: string }[] {
    return this.wired.map((d) => ({ name: d.name, producers: [...d.producers], consumer: d.consumer }));
  }

  /** The ends PD `pd` holds now, for its boot data. */
  endsOf(pd: string): PdAsyncEnd[] {
    const ends: PdAsyncEnd[] = [];
    for (const w of this.channels) {
      const i = w.description.producers.indexOf(pd);
      if (i >= 0) ends.push({ name: w.description.name, role: "producer", descriptor: w.producers[i]! });
      if (w.description.consumer === pd) ends.push({ name: w.description.name, role: "consumer", descriptor: consumerOf(w) });
    }
    return ends;
  }

  /**
   * The current descriptor of PD `pd`'s end `role` of channel `name` (the `async-end` syscall): after the PD
   * at the other end was restarted, the end wired to its new generation.
   * @throws IpcError `InvalidArgument` if `pd` holds no such end
   */
  current(pd: string, name: string, role: "producer" | "consumer"): ProducerDescriptor | ConsumerDescriptor {
    const end = this.endsOf(pd).find((e) => e.name === name && e.role === role);
    if (end === undefined) {
      throw new IpcError("InvalidArgument", `${role === "producer" ? "asyncProducer" : "asyncConsumer"}: PD '${pd}' is not a ${role} of an async channel '${name}'`, {
        operation: role === "producer" ? "asyncProducer" : "asyncConsumer",
        pd,
      });
    }
    return end.descriptor as ProducerDescriptor | ConsumerDescriptor;
  }

  /**
   * PD `pd` is gone: its ends are marked dead, and the PDs at the other ends wake with `PeerDied`. If it is
   * `restarting`, the channels are first rewired on new rings (see the module comment). Every ring is marked
   * whatever marking another threw (the dead PD could write all of its rings' words); the failures are thrown
   * together at the end.
   * @throws AggregateError of what marking some rings threw, after every other ring was marked
   */
  died(pd: string, restarting = false): void {
    // The descriptors were made by this kernel, not the PD: their shape can be trusted, the rings' words not.
    const dead: { ring: SharedArrayBuffer; role: "producer" | "consumer" }[] = [];
    for (const w of this.channels) {
      const i = w.description.producers.indexOf(pd);
      if (i >= 0) dead.push({ ring: w.producers[i]!.ring, role: "producer" });
      if (w.description.consumer === pd) for (const p of w.producers) dead.push({ ring: p.ring, role: "consumer" });
    }
    const failures: unknown[] = [];
    if (restarting) {
      try {
        this.rewire(pd);
      } catch (error) {
        failures.push(error); // the old rings are marked dead all the same
      }
    }
    for (const { ring, role } of dead) {
      try {
        markRingPeerDied(ring, role);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `async channels: ${failures.length} ring(s) of PD '${pd}' could not be marked dead`);
  }

  /** New rings for every end PD `pd` holds (it is restarted), and the booting thread's ends moved onto them. */
  private rewire(pd: string): void {
    for (const w of this.channels) {
      const d = w.description;
      const renewed: number[] = [];
      d.producers.forEach((producer, i) => {
        if (producer === pd || d.consumer === pd) renewed.push(i);
      });
      if (renewed.length === 0) continue;
      for (const i of renewed) w.producers[i] = newRing(w, i);
      w.consumerClaim = createClaim();
      if (d.consumer === pd) {
        for (const i of renewed) if (d.producers[i] === HOST) this.hostProducers.set(d.name, AsyncProducer.attach(w.producers[i]!));
      } else if (d.consumer === HOST) {
        // The booting thread's consumer drains the new ring too; one that has ended (or that the host closed)
        // is replaced by a consumer of the current rings.
        const host = this.hostConsumers.get(d.name);
        let added = false;
        if (host !== undefined && !host.ended) {
          try {
            for (const i of renewed) host.addProducer(w.producers[i]!);
            added = true;
          } catch {
            // closed by the host: replaced below
          }
        }
        if (!added) this.hostConsumers.set(d.name, AsyncConsumer.attach(consumerOf(w)));
      }
    }
  }

  hostProducer(name: string): AsyncProducer {
    const end = this.hostProducers.get(name);
    if (end === undefined) throw noEnd(name, "producer");
    return end;
  }

  hostConsumer(name: string): AsyncConsumer {
    const end = this.hostConsumers.get(name);
    if (end === undefined) throw noEnd(name, "consumer");
    return end;
  }
}

/**
 * A new ring for producer `index` of `w`, with the channel's geometry and a claim of its own. Made here, not by
 * `AsyncChannel.addProducer`, which would keep every ring ever made; the producer's number stays `index`.
 */
function newRing(w: Wired, index: number): ProducerDescriptor {
  const ring = createRing({ capacity: w.channel.capacity, slotPayload: w.channel.slotBytes });
  const { capacity, slotBytes } = ringGeometry(ring); // read by the kernel before any PD holds the ring
  return { kind: "isokit.async.producer", ring, index, capacity, slotBytes, claim: createClaim() };
}

/** The consumer's end of `w` as wired now: every producer's current ring. */
function consumerOf(w: Wired): ConsumerDescriptor {
  const { capacity, slotBytes } = w.producers[0]!;
  return { kind: "isokit.async.consumer", rings: w.producers.map((p) => p.ring), capacity, slotBytes, claim: w.consumerClaim };
}

function noEnd(name: string, role: string): IpcError {
  return new IpcError("InvalidArgument", `async${role === "producer" ? "Producer" : "Consumer"}: the booting thread is not a ${role} of an async channel '${name}'`, {
    operation: role === "producer" ? "asyncProducer" : "asyncConsumer",
  });
}
