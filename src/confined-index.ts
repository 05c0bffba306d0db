/**
 * `isokit` as a confined program imports it: every name of src/index.ts, but `boot` and `loadSystemFile` are
 * stand-ins that refuse. Those two start workers and read files — authority a compartment never has — and they
 * are what pulls the kernel and the system-description parser into a module graph: without them a confined
 * PD's worker neither loads nor hardens that code (kernel/loader.ts gives this module for `isokit`).
 */

import { IpcError } from "./errors.ts";

export * from "./microkit.ts";
export * from "./endpoints.ts";
export * from "./regions.ts";
export * from "./layouts.ts";
export * from "./streams.ts";
export * from "./l4.ts";
export * from "./codecs.ts";
export * from "./compat.ts";
export { DEFAULT_LIMITS } from "./protocol/limits.ts";
export { IpcError, ErrorCode, isIpcError, formatDiagnostic } from "./errors.ts";

function outOfReach(operation: string): never {
  throw new IpcError("PermissionDenied", `${operation}: a confined PD cannot start a system (it holds no authority to start workers or read files)`, { operation });
}

/** Refuses: a confined PD cannot boot a system. */
export function boot(): never {
  return outOfReach("boot");
}

/** Refuses: a confined PD cannot read a system description file. */
export function loadSystemFile(): never {
  return outOfReach("loadSystemFile");
}
