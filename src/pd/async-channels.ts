/**
 * A PD's ends of the asynchronous channels wired at boot (`BootOptions.asyncChannels`). Each end is attached
 * once, at first use, and the same object is returned after: a ring has exactly one producer and one consumer.
 */

import { AsyncConsumer, AsyncProducer, type ConsumerDescriptor, type ProducerDescriptor } from "../ipc/async/index.ts";
import { currentPd } from "./context.ts";

const producers = new Map<string, AsyncProducer>();
const consumers = new Map<string, AsyncConsumer>();

/** This PD's producer end of the async channel `name`. */
export function asyncProducer(name: string): AsyncProducer {
  let end = producers.get(name);
  if (end === undefined) {
    end = AsyncProducer.attach(currentPd("asyncProducer").asyncEnd(name, "producer", "asyncProducer") as ProducerDescriptor);
    producers.set(name, end);
  }
  return end;
}

/** This PD's consumer end of the async channel `name`. */
export function asyncConsumer(name: string): AsyncConsumer {
  let end = consumers.get(name);
  if (end === undefined) {
    end = AsyncConsumer.attach(currentPd("asyncConsumer").asyncEnd(name, "consumer", "asyncConsumer") as ConsumerDescriptor);
    consumers.set(name, end);
  }
  return end;
}
