/**
 * Quotas: every resource a PD can make the kernel or another PD hold, with its default. One object, as Cap'n
 * Web's `RpcLimits`: `boot(description, { limits: { ... } })` overrides any of them for the whole system.
 *
 * Each is enforced where the PD it limits cannot reach (the kernel, or the receiving side). A hit is a typed
 * `IpcError` for the operation that would pass the limit (the code is given with each) and a counted event
 * in the kernel's statistics (`system.ipcStats().quotaHits`); a PD that breaks the protocol itself (garbage
 * control messages, a second syscall before the first was answered) is faulted instead.
 */

import { IpcError } from "../errors.ts";

export interface Limits {
  /** Capabilities one PD's space may hold at once (`OutOfMemory`). */
  readonly capabilitiesPerPd: number;
  /** Objects (endpoints, channels, regions) one PD may own at once (`OutOfMemory`). */
  readonly objectsPerPd: number;
  /** Depth of a derivation chain below an object's first capability (`OutOfMemory`): revoke stays bounded. */
  readonly derivationDepth: number;
  /** Sending slots one sender PD may hold on one endpoint at once (`OutOfMemory`); closed ones are reused. */
  readonly slotsPerSenderPerEndpoint: number;
  /**
   * Messages carrying capabilities that one PD sent to another and that it has not yet taken (`QueueFull`).
   * This and the next two are per sender and receiver: one sender using up its quota leaves every other's.
   */
  readonly pendingTransfersPerSender: number;
  /** Capabilities one PD granted into another by name or pid (`grant`) that it still holds (`QueueFull`). */
  readonly grantedCapabilitiesPerSender: number;
  /** Bytes of buffers one PD moved to another not yet taken with `receiveBuffer` (`QueueFull`). */
  readonly movedBufferBytesPerSender: number;
  /** Bytes of shared regions one PD may have created and not yet closed (`OutOfMemory`). */
  readonly regionBytesPerPd: number;
  /** Syscalls per second one PD may make, sustained (a token bucket one second deep; `RateLimitExceeded`). */
  readonly syscallsPerSec: number;
  /** Longest string in a syscall or control message, in UTF-16 units (names, labels; `InvalidArgument`). */
  readonly maxStringLength: number;
  /** Output lines per second per PD; lines past it are dropped and counted (one notice line says so). */
  readonly outputLinesPerSec: number;
  /** Output bytes per second per PD; as above. */
  readonly outputBytesPerSec: number;
  /** Longest output line, in UTF-16 units; longer lines are cut and marked. */
  readonly outputLineLength: number;
  /** How long a faulted child waits for its parent's verdict before the kernel stops it (ms). */
  readonly faultVerdictMs: number;
  /**
   * The entry-point watchdog (kernel/watchdog.ts): the longest one entry point (init, notified, protected,
   * fault) may run without waiting, in ms; past it the kernel terminates the PD's worker and faults it
   * (`Timeout`). Time blocked in a wait the kernel can see (a ppcall, a syscall, an endpoint wait, a fault
   * verdict) does not count. A PD's Microkit `budget` (µs) overrides it for that PD (at least 100 ms).
   */
  readonly entryBudgetMs: number;
  /** Heap of one PD's worker, in MB (Worker `resourceLimits.maxOldGenerationSizeMb`); past it the PD is faulted. */
  readonly heapMbPerPd: number;
  /**
   * Stack of one PD's worker, in MB (Worker `resourceLimits.stackSizeMb`); a deeper recursion throws a
   * RangeError in the entry point, which faults the PD. A PD's Microkit `stack_size` overrides it (at least 1 MB).
   */
  readonly stackMbPerPd: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  capabilitiesPerPd: 4096,
  objectsPerPd: 4096,
  derivationDepth: 64,
  slotsPerSenderPerEndpoint: 32,
  pendingTransfersPerSender: 256,
  grantedCapabilitiesPerSender: 256,
  movedBufferBytesPerSender: 64 * 1024 * 1024,
  regionBytesPerPd: 1024 * 1024 * 1024,
  syscallsPerSec: 50_000,
  maxStringLength: 1024,
  outputLinesPerSec: 2000,
  outputBytesPerSec: 1024 * 1024,
  outputLineLength: 4096,
  faultVerdictMs: 5000,
  entryBudgetMs: 5000,
  heapMbPerPd: 256,
  stackMbPerPd: 4,
});

/** `DEFAULT_LIMITS` with `overrides` applied; each override must be a positive integer. */
export function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in DEFAULT_LIMITS)) throw new IpcError("InvalidArgument", `limits: unknown limit '${key}' (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})`, { operation: "boot" });
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw new IpcError("InvalidArgument", `limits: ${key} must be a positive integer (got ${String(value)})`, { operation: "boot" });
    }
    out[key] = value;
  }
  return Object.freeze(out as unknown as Limits);
}
