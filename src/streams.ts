/**
 * `isokit/streams`: asynchronous channels. An asynchronous channel is a set of bounded rings of fixed slots in
 * shared memory, one ring per producer, drained fairly by its one consumer; a send completes once the message
 * is queued (compare an endpoint, where it completes once the receiver took it). Wire them at boot
 * (`boot(..., { asyncChannels })`, `HOST` for the booting thread) and open an end inside a PD with
 * `asyncProducer(name)` / `asyncConsumer(name)`, or in the booting thread with `system.asyncProducer(name)` /
 * `system.asyncConsumer(name)`.
 */

export { AsyncChannel, AsyncProducer, AsyncConsumer, markPeerDied } from "./ipc/async/index.ts";
export type { AsyncChannelOptions, AsyncOptions, CloseReason, ProducerDescriptor, ConsumerDescriptor, RefusedProducer } from "./ipc/async/index.ts";
export { asyncProducer, asyncConsumer } from "./pd/async-channels.ts";
export { HOST } from "./kernel/async-channels.ts";
export type { AsyncChannelDescription } from "./kernel/async-channels.ts";
