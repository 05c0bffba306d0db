/**
 * `isokit`: boot a system, its errors, and the types that describe it. This is what the booting thread
 * imports; a PD program imports the module of the API it uses:
 *
 *   isokit            boot, loadSystemFile, RunningSystem, SystemDescription, Limits, IpcError / ErrorCode;
 *                     watching a system: SystemStats, TraceFile, checkTraceFile, startDashboard
 *   isokit/microkit   PD programs: protectionDomain, Channel, MessageInfo, message registers
 *   isokit/endpoints  endpoints and capabilities (the VeridianOS API), serve()
 *   isokit/regions    shared memory regions: mapped by the description, made and granted at run time
 *   isokit/layouts    typed fixed layouts (flatipc) and lending
 *   isokit/streams    asynchronous channels: bounded rings, one per producer
 *   isokit/l4         L4 MsgTag and label-identified services
 *   isokit/codecs     MessagePack values and Cap'n Proto messages in regions
 *   isokit/compat     seed 002's sys_* system calls, with the table that maps them onto the above
 *
 * Every module of a process, whatever path it imports isokit by, shares one copy of the runtime: the kernel
 * compiles a PD program against its own modules (kernel/loader.ts).
 */

export { boot } from "./boot/boot.ts";
export type { BootOptions } from "./boot/boot.ts";
export { loadSystemFile } from "./sdf/load.ts";
export type { ParseResult } from "./sdf/parse.ts";
export type { RunningSystem, PdStatus, PdState, PdFault, SystemEvents } from "./kernel/system.ts";
export type { IpcKernelStats } from "./kernel/ipc-kernel.ts";
export { checkTraceFile, DASHBOARD_TRACE } from "./kernel/trace.ts";
export type { TraceEvent, TraceFile, TraceOptions, LiveTrace } from "./kernel/trace.ts";
export { formatStats } from "./kernel/stats.ts";
export type {
  SystemStats,
  PdStats,
  ChannelStats,
  EndpointStats,
  LatencySummary,
  SystemObserver,
  Topology,
  CapabilityEvent,
} from "./kernel/stats.ts";
export { startDashboard } from "./dashboard/start.ts";
export type { Dashboard, DashboardOptions } from "./dashboard/server.ts";
export type {
  SystemDescription,
  ProtectionDomainDescription,
  ChannelDescription,
  ChannelEndDescription,
  MemoryRegionDescription,
  MapDescription,
} from "./sdf/description.ts";
export { DEFAULT_LIMITS } from "./protocol/limits.ts";
export type { Limits } from "./protocol/limits.ts";
export { IpcError, ErrorCode, isIpcError, formatDiagnostic } from "./errors.ts";
export type { Diagnostic, SourceLocation, IpcErrorDetails } from "./errors.ts";
