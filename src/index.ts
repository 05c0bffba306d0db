/**
 * Every public name of isokit in one module, for the repository's own tests, examples and benchmarks, which
 * import the sources by path. The package does not export it: users import the module of each concept
 * (`isokit`, `isokit/microkit`, `isokit/endpoints`, ... — see src/isokit.ts and package.json "exports"),
 * which re-export the same bindings, so a value is the same object whichever module it came from.
 */

// PD programs
export { protectionDomain, Child } from "./pd/program.ts";
export type { Handler, ProgramOptions, ProtectionDomainProgram } from "./pd/program.ts";
export { Channel, ChannelSet } from "./pd/channel.ts";
export {
  getMr,
  getMrBig,
  setMr,
  withMsgRegs,
  withMsgRegsMut,
  withMsgBytes,
  withMsgBytesMut,
  debugPrintln,
  pdName,
} from "./pd/registers.ts";
export type { ReadonlyMessageRegisters, ReadonlyMessageBytes } from "./pd/registers.ts";
export { memoryRegion, createRegion, mapRegion, moveBuffer, receiveBuffer } from "./pd/regions.ts";
export type { MappedRegion } from "./pd/regions.ts";
export { MessageInfo, MAX_LABEL } from "./protocol/message-info.ts";

// Typed fixed layouts (flatipc, seed 001) and lending
export {
  u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, bool, char,
  struct, array, option, string, vec, defineLayout, signatureOf, canonical,
} from "./layout/index.ts";
export type { Layout, StructView, ArrayView, View, FieldType, StructType, Type, ValueOf, StructValue } from "./layout/index.ts";
export { lend, lendMut, tryLend, tryLendMut, acceptLend, lendable } from "./pd/lend.ts";

// Rich values a fixed layout does not fit: MessagePack with limits and typed errors
export { encodeValue, decodeValue, DEFAULT_MAX_BYTES, writeCapnp, readCapnp, capnpBytes, CAPNP_HEADER_BYTES, MAX_SEGMENTS } from "./codec/index.ts";
export type { CodecLimits } from "./codec/index.ts";

// L4 messages and services (seed 004)
export { MsgTag, MsgTagFlag, MAX_TAG_LABEL, ServiceError } from "./protocol/msgtag.ts";
export type { MsgTagFields } from "./protocol/msgtag.ts";
export { defineService, serveL4, putRegionItem, getRegionItem, TypedItemKind } from "./pd/services.ts";
export type { Service, ServiceDefinition, ServiceHandler, Words, RegionItem } from "./pd/services.ts";

// The VeridianOS IPC API (inside a PD, worker mode): endpoints, capabilities, rate limits, statistics
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
  grantCap,
  lookupCapability,
  capabilityFromToken,
  processId,
  getPerformanceStats,
} from "./pd/endpoints.ts";
export { serve } from "./pd/serve.ts";
export type { ServeHandler, ServeReply } from "./pd/serve.ts";
export {
  sys_send,
  sys_receive,
  sys_call,
  sys_reply,
  sys_create_channel,
  sys_create_endpoint,
  sys_close,
  sys_grant_cap,
  sys_revoke_cap,
} from "./pd/syscalls.ts";
export { Capability } from "./ipc/capability.ts";
export type { DeriveOptions } from "./ipc/capability.ts";
export { ReplyCapability } from "./ipc/client.ts";
export type { Received, Reply, SendOptions, WaitFor } from "./ipc/client.ts";
export type { PerformanceStats } from "./ipc/stats.ts";
export type { RateLimits } from "./protocol/syscall.ts";
export { Rights, encodeToken, decodeToken } from "./caps/token.ts";

// Asynchronous channels: bounded rings, one per producer, drained fairly
export { AsyncChannel, AsyncProducer, AsyncConsumer, markPeerDied } from "./ipc/async/index.ts";
export type { AsyncChannelOptions, AsyncOptions, CloseReason, ProducerDescriptor, ConsumerDescriptor, RefusedProducer } from "./ipc/async/index.ts";
export { asyncProducer, asyncConsumer } from "./pd/async-channels.ts";
export { MR_COUNT } from "./protocol/layout.ts";

// The booting thread
export { boot } from "./kernel/boot.ts";
export { loadSystemFile } from "./sdf/load.ts";
export type { ParseResult } from "./sdf/parse.ts";
export type { BootOptions } from "./kernel/boot.ts";
export { DEFAULT_LIMITS } from "./protocol/limits.ts";
export type { Limits } from "./protocol/limits.ts";
export type { RunningSystem, PdStatus, PdState, PdFault, SystemEvents } from "./kernel/system.ts";
export type { IpcKernelStats } from "./kernel/ipc-kernel.ts";
export { HOST } from "./kernel/async-channels.ts";
export type { AsyncChannelDescription } from "./kernel/async-channels.ts";
export type {
  SystemDescription,
  ProtectionDomainDescription,
  ChannelDescription,
  ChannelEndDescription,
  MemoryRegionDescription,
  MapDescription,
} from "./sdf/description.ts";

// Errors
export { IpcError, ErrorCode, isIpcError, formatDiagnostic } from "./errors.ts";
export type { Diagnostic, SourceLocation, IpcErrorDetails } from "./errors.ts";
