/**
 * Asynchronous channels wired at boot (`BootOptions.asyncChannels`): the kernel makes each channel's rings and
 * hands every producer PD its own ring's end and the consumer PD the consumer's end, in their boot data — as a
 * Microkit channel's buffer is handed to exactly its two PDs. The booting thread may be an end too (`HOST`).
 * When a PD dies, the kernel marks its ends dead, so the PDs at the other ends wake with `PeerDied`.
 */

import { IpcError } from "../errors.ts";
import { AsyncChannel, AsyncConsumer, AsyncProducer } from "../ipc/async/index.ts";
import type { ConsumerDescriptor, ProducerDescriptor } from "../ipc/async/index.ts";
import { markRingPeerDied } from "../shm/ring.ts";
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

interface WiredEnd {
  readonly pd: string;
  readonly end: PdAsyncEnd;
}

export class AsyncChannels {
  private readonly ends: WiredEnd[] = [];
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
      d.producers.forEach((pd, i) => {
        const descriptor = channel.producerDescriptor(i);
        if (pd === HOST) this.hostProducers.set(d.name, AsyncProducer.attach(descriptor));
        else this.ends.push({ pd, end: { name: d.name, role: "producer", descriptor } });
      });
      const descriptor = channel.consumerDescriptor();
      if (d.consumer === HOST) this.hostConsumers.set(d.name, AsyncConsumer.attach(descriptor));
      else this.ends.push({ pd: d.consumer, end: { name: d.name, role: "consumer", descriptor } });
    }
  }

  /** The channels wired at boot (for the topology of kernel/stats.ts). */
  descriptions(): readonly { readonly name: string; readonly producers: readonly string[]; readonly consumer: string }[] {
    return this.wired.map((d) => ({ name: d.name, producers: [...d.producers], consumer: d.consumer }));
  }

  /** The ends PD `pd` holds, for its boot data. */
  endsOf(pd: string): PdAsyncEnd[] {
    return this.ends.filter((e) => e.pd === pd).map((e) => e.end);
  }

  /**
   * PD `pd` is gone: its ends are marked dead, and the PDs at the other ends wake with `PeerDied`. Every ring is
   * marked whatever marking another threw (the dead PD could write all of its rings' words); the failures are
   * thrown together at the end.
   * @throws AggregateError of what marking some rings threw, after every other ring was marked
   */
  died(pd: string): void {
    const failures: unknown[] = [];
    for (const e of this.ends) {
      if (e.pd !== pd) continue;
      // The descriptors were made by this kernel, not the PD: their shape can be trusted, the rings' words not.
      const rings =
        e.end.role === "producer" ? [(e.end.descriptor as ProducerDescriptor).ring] : (e.end.descriptor as ConsumerDescriptor).rings;
      for (const ring of rings) {
        try {
          markRingPeerDied(ring, e.end.role);
        } catch (error) {
          failures.push(error);
        }
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `async channels: ${failures.length} ring(s) of PD '${pd}' could not be marked dead`);
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

function noEnd(name: string, role: string): IpcError {
  return new IpcError("InvalidArgument", `async${role === "producer" ? "Producer" : "Consumer"}: the booting thread is not a ${role} of an async channel '${name}'`, {
    operation: role === "producer" ? "asyncProducer" : "asyncConsumer",
  });
}
