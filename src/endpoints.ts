/**
 * `isokit/endpoints`: endpoints and capabilities inside a PD (the VeridianOS API, with seL4's derivation tree
 * and badges). An endpoint is a receive point many senders reach, each through its own capability; authority
 * moves only as capabilities (`grantCap`, or carried by a message), narrows on `derive`, and is taken back by
 * `revoke`. `serve(cap, handler)` lets the PD's loop answer an endpoint's calls.
 *
 * The words, the same everywhere in isokit:
 *   - `send` completes when the message is in the receiver's hands: for an endpoint, once the receiver took
 *     it (seL4 Send, a rendezvous); for a bounded channel (`createChannel`) or an asynchronous channel
 *     (isokit/streams), once it is queued.
 *   - A name ending in `Async` returns a promise and never blocks the event loop (for `wait: "async"` PDs);
 *     it completes at the same moment as the function without it.
 *   - Every blocking call takes `timeout` (ms; 0 polls, failing `WouldBlock` if it would wait) and `signal`.
 */

export {
  createEndpoint,
  createChannel,
  send,
  call,
  receive,
  receiveBatch,
  sendAsync,
  callAsync,
  receiveAsync,
  reply,
  replyRecv,
  callInto,
  receiveInto,
  replyInto,
  replyRecvInto,
  grantCap,
  lookupCapability,
  capabilityFromToken,
  processId,
  getPerformanceStats,
} from "./pd/endpoints.ts";
export { serve } from "./pd/serve.ts";
export type { ServeHandler, ServeReply } from "./pd/serve.ts";
export { Capability } from "./ipc/capability.ts";
export type { DeriveOptions } from "./ipc/capability.ts";
export { ReplyCapability } from "./ipc/client.ts";
export { MessageBuffer } from "./ipc/message-buffer.ts";
export type { Received, Reply, SendOptions, WaitFor } from "./ipc/client.ts";
export type { PerformanceStats } from "./ipc/stats.ts";
export type { RateLimits } from "./protocol/syscall.ts";
export { Rights, encodeToken, decodeToken } from "./caps/token.ts";
