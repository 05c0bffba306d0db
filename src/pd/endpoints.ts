/**
 * The VeridianOS IPC API as a PD program calls it: endpoints, messages, capabilities, statistics. Each
 * function works on the running PD (worker mode); see ipc/client.ts for the protocol and what is enforced where.
 *
 * ```ts
 * // server
 * const { cap } = createEndpoint();
 * grantCap(cap, "client", Rights.SEND, { name: "echo" });
 * serve(cap, (m) => m.data); // in init(): the PD's loop answers each call (pd/serve.ts)
 * // client
 * const echo = lookupCapability("echo");
 * const answer = call(echo, new TextEncoder().encode("hi"));
 * ```
 */

import type { Capability } from "../ipc/capability.ts";
import type { Received, Reply, ReplyCapability, SendOptions, WaitFor } from "../ipc/client.ts";
import type { MessageBuffer } from "../ipc/message-buffer.ts";
import type { PerformanceStats } from "../ipc/stats.ts";
import { currentPd } from "./context.ts";

/** A new endpoint received by this PD, and a capability with every right to it. */
export function createEndpoint(): { id: number; cap: Capability } {
  return currentPd("createEndpoint").ipcClient("createEndpoint").createEndpoint();
}

/**
 * A bounded channel received by this PD: every PD that sends through it gets its own queue of `capacity`
 * messages (a send returns once queued; a full queue waits, or fails `QueueFull` with timeout 0). Returns
 * a SEND|GRANT capability to hand out and the receiving capability.
 */
export function createChannel(capacity: number): { id: number; send: Capability; receive: Capability } {
  return currentPd("createChannel").ipcClient("createChannel").createChannel(capacity);
}

/**
 * Sends `data` (at most 64 bytes). It returns once the message is in the receiver's hands: through an
 * endpoint, once the receiver took it (seL4 Send); through a bounded channel, once it is queued.
 */
export function send(cap: Capability, data: Uint8Array, options?: SendOptions): void {
  currentPd("send").ipcClient("send").send(cap, data, options);
}

/** Sends `data` and waits for the reply (seL4 Call). */
export function call(cap: Capability, data: Uint8Array, options?: SendOptions): Reply {
  return currentPd("call").ipcClient("call").call(cap, data, options);
}

/**
 * `send` as a promise that never blocks the event loop (for a PD in `wait: "async"` mode): it resolves at the
 * moment `send` would return (the receiver took the message); an `AbortSignal` acts at once. Endpoints only: a
 * bounded channel's `send` waits only while its queue is full, so it has no async form.
 */
export function sendAsync(cap: Capability, data: Uint8Array, options?: SendOptions): Promise<void> {
  return currentPd("sendAsync").ipcClient("sendAsync").sendAsync(cap, data, options);
}

/** `call` as a promise that never blocks the event loop; resolves with the reply. */
export function callAsync(cap: Capability, data: Uint8Array, options?: SendOptions): Promise<Reply> {
  return currentPd("callAsync").ipcClient("callAsync").callAsync(cap, data, options);
}

/** `receive` as a promise that never blocks the event loop. */
export function receiveAsync(cap: Capability, options?: WaitFor): Promise<Received> {
  return currentPd("receiveAsync").ipcClient("receiveAsync").receiveAsync(cap, options);
}

/** Waits for a message on an endpoint this PD receives on. */
export function receive(cap: Capability, options?: WaitFor): Received {
  return currentPd("receive").ipcClient("receive").receive(cap, options);
}

/** Up to `max` messages: the first as `receive`, then whatever else is already waiting. */
export function receiveBatch(cap: Capability, max: number, options?: WaitFor): Received[] {
  return currentPd("receiveBatch").ipcClient("receiveBatch").receiveBatch(cap, max, options);
}

/** Answers a call; false if the caller gave up or died (the reply is dropped). */
export function reply(to: ReplyCapability, data: Uint8Array, options?: { label?: number }): boolean {
  return currentPd("reply").ipcClient("reply").reply(to, data, options);
}

/** Answers a call and waits for the next message (seL4 ReplyRecv). */
export function replyRecv(to: ReplyCapability, data: Uint8Array, cap: Capability, options?: WaitFor & { label?: number }): Received {
  return currentPd("replyRecv").ipcClient("replyRecv").replyRecv(to, data, cap, options);
}

/**
 * `call` through this PD's own buffer (seL4's IPC buffer): sends `buffer`'s first `length` bytes with its
 * `label` and leaves the reply in it. Allocates nothing: for a hot loop of calls.
 */
export function callInto(cap: Capability, buffer: MessageBuffer, options?: Omit<SendOptions, "label">): void {
  currentPd("callInto").ipcClient("callInto").callInto(cap, buffer, options);
}

/**
 * `receive` into this PD's own buffer: the message's bytes, length, label, badge, sender and capabilities; a call
 * leaves the buffer holding the right to answer it (`buffer.holdsCall`), used by `replyInto` / `replyRecvInto`.
 */
export function receiveInto(cap: Capability, buffer: MessageBuffer, options?: WaitFor): void {
  currentPd("receiveInto").ipcClient("receiveInto").receiveInto(cap, buffer, options);
}

/** Answers the call `buffer` holds with its first `length` bytes and its label; false if the caller gave up or died. */
export function replyInto(buffer: MessageBuffer): boolean {
  return currentPd("replyInto").ipcClient("replyInto").replyInto(buffer);
}

/** `replyInto` then `receiveInto` the same buffer (seL4 ReplyRecv through the IPC buffer). */
export function replyRecvInto(cap: Capability, buffer: MessageBuffer, options?: WaitFor): void {
  currentPd("replyRecvInto").ipcClient("replyRecvInto").replyRecvInto(cap, buffer, options);
}

/**
 * Installs a capability with `rights` (a subset of `cap`'s; needs GRANT) in PD `to`'s space and returns its
 * token there. With `name`, that PD finds it with `lookupCapability(name)`. `move` gives up this PD's own.
 * Authority follows capabilities: this PD must reach `to` — a channel or a parent/child relation in the system
 * description, or an endpoint between them — else `PermissionDenied`; a name already granted there is never
 * replaced (`PermissionDenied`).
 */
export function grantCap(cap: Capability, to: string | number, rights: number, options?: { name?: string; move?: boolean }): bigint {
  return currentPd("grantCap").ipcClient("grantCap").grantCapability(cap, to, rights, options);
}

/**
 * Waits (up to `timeout` ms) until a capability granted to this PD under `name` has arrived. With `from`, it
 * must have been granted by that PD (`PermissionDenied` if another PD took the name first); `cap.grantedBy`
 * says who granted it.
 */
export function lookupCapability(name: string, options?: WaitFor & { readonly from?: string }): Capability {
  return currentPd("lookupCapability").ipcClient("lookupCapability").lookupCapability(name, options);
}

/** The handle of a token this PD holds; `InvalidCapability` (saying why) for any other value. */
export function capabilityFromToken(token: bigint): Capability {
  return currentPd("capabilityFromToken").ipcClient("capabilityFromToken").capability(token);
}

/** The ProcessId of a running PD, for `grantCap` and the syscall facade. */
export function processId(name: string): number {
  return currentPd("processId").ipcClient("processId").pid(name);
}

/** This PD's IPC performance statistics (seed 003's report), from real measurements. */
export function getPerformanceStats(): PerformanceStats {
  return currentPd("getPerformanceStats").ipcClient("getPerformanceStats").getPerformanceStats();
}
