/**
 * `isokit/internal`: the layers under the public API, for tests, benchmarks and tools. Not covered by
 * semantic versioning.
 */

export * as layout from "./protocol/layout.ts";
export type { PdBootData, PdEndBootData, PdToKernel, WaitConfig } from "./protocol/control.ts";
export { ChannelMemory } from "./shm/channel-memory.ts";
export { IpcBuffer } from "./shm/ipc-buffer.ts";
export { SyncWait, spinUntil, wakeIfSleeping, defaultWaitOptions } from "./shm/wait.ts";
export { ringDoorbell, sleepOnDoorbell } from "./shm/doorbell.ts";
export { createRing, RingProducer, RingConsumer } from "./shm/ring.ts";
export type { RingOptions } from "./shm/ring.ts";
export { CapabilityRegistry, Rights, encodeToken, decodeToken } from "./caps/index.ts";
export type { WaitOptions } from "./shm/wait.ts";
export { planSystem } from "./kernel/plan.ts";
export type { Plan, PlannedPd, PlannedEnd } from "./kernel/plan.ts";
export { checkSystem } from "./sdf/rules.ts";
export { allProtectionDomains, defaults, limits } from "./sdf/description.ts";
export { serializeError, deserializeError } from "./errors.ts";
