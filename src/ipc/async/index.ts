// Async channels: the public surface (the lead wires it into src/index.ts and the capability system).
export { AsyncChannel } from "./channel.ts";
export type { AsyncChannelOptions } from "./channel.ts";
export { AsyncProducer } from "./producer.ts";
export type { CloseReason } from "./producer.ts";
export { AsyncConsumer } from "./consumer.ts";
export type { RefusedProducer } from "./consumer.ts";
export { markPeerDied } from "./descriptor.ts";
export type { ConsumerDescriptor, ProducerDescriptor } from "./descriptor.ts";
export { defaultAsyncTuning } from "./wait.ts";
export type { AsyncOptions, AsyncWaitTuning } from "./wait.ts";
