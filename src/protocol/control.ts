/**
 * The control plane between the kernel and a PD's worker: what the kernel hands a worker at start
 * (`workerData`), and the messages a worker posts back. Control messages use `postMessage`; messages between
 * PDs never do (they go through the channel buffers of layout.ts), nor does output (shm/output-ring.ts).
 *
 * A worker runs untrusted code, so the kernel reads what it posts with one schema-checked decoder
 * (kernel/control-decoder.ts): anything but the exact shapes below, or a message that does not fit the PD's
 * state (a second `init-done`, a `fault` while one is pending, anything after `stopped`), faults that PD.
 */

import type { SerializedIpcError } from "../errors.ts";
import type { TraceBootData } from "./trace.ts";

/**
 * `workerData` of a PD worker: everything the PD may reach, and nothing else.
 *
 * `Port` is the transport's port for syscalls and mail. protocol/ names no runtime's types (a browser or network
 * transport must be able to use it), so the layers that create and read the port name it: Node's `MessagePort`
 * in kernel/worker-system.ts and pd/worker-main.ts. Left `unknown`, code that only reads the rest of the boot
 * data (tests' hostile programs) needs no runtime's types either.
 */
export interface PdBootData<Port = unknown> {
  readonly name: string;
  readonly priority: number;
  readonly passive: boolean;
  /** URL of the program's source, as the system names it (for messages; the worker imports `moduleUrl`). */
  readonly programUrl: string;
  /**
   * URL of the compiled runtime entry (pd/worker-main, from the same build, src or dist, as the kernel), built
   * with the program by kernel/loader.ts: plain JavaScript, so the worker needs no TypeScript loader.
   */
  readonly runtimeUrl: string;
  /** URL of the compiled program, sharing the runtime's modules (one copy of isokit per worker). */
  readonly moduleUrl: string;
  /**
   * Set for a confined PD (pd/confine.ts): for each specifier its program may import, the API module of the
   * runtime script that serves it (`runtime.cjs#<specifier>`, kernel/loader.ts). Absent for a trusted PD, whose
   * program is imported with the worker's whole authority.
   */
  readonly confinedApi?: Readonly<Record<string, string>>;
  /**
   * A confined PD's V8 code caches (kernel/code-cache.ts), each the worker's own copy: of its runtime script (read
   * by bin/pd-worker.cjs) and of ses (pd/confine.ts). V8 rejects a cache that does not match and compiles from
   * source. Absent for a trusted PD.
   */
  readonly runtimeCodeCache?: Uint8Array | undefined;
  readonly sesCodeCache?: Uint8Array | undefined;
  /**
   * A confined PD's file of ses (kernel/code-cache.ts sesPath: the file the kernel made `sesCodeCache` of), so the
   * worker need not resolve the package itself (~2 ms of its CPU). Absent for a trusted PD.
   */
  readonly sesPath?: string | undefined;
  readonly doorbell: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly ends: readonly PdEndBootData[];
  readonly wait: WaitConfig;
  /** This PD has a parent: its faults go to the parent's `fault()` and it waits for the verdict. */
  readonly hasParent: boolean;
  /**
   * The restart policy may restart this PD: on a fault it leaves its ends to the kernel, which wakes its callers
   * with PeerRestarted or PeerDied as the policy decides (docs/supervision.md).
   */
  readonly supervised?: boolean | undefined;
  /** Memory regions the PD maps, by their `setvar_vaddr` name. */
  readonly regions: readonly PdRegionBootData[];
  /** This PD's ProcessId in the kernel's capability spaces. */
  readonly pid: number;
  /** The PD's port to the kernel for syscalls and mail (protocol/syscall.ts); transferred, never shared. */
  readonly kernelPort: Port;
  /** The kernel bell (protocol/layout.ts KERNEL_BELL): bumped after every syscall posted on `kernelPort`. */
  readonly kernelBell: SharedArrayBuffer;
  /** Its ends of the asynchronous channels wired at boot. */
  readonly asyncChannels: readonly PdAsyncEnd[];
  /** Its output ring (shm/output-ring.ts): `debugPrintln` writes lines there; the kernel drains it. */
  readonly output: SharedArrayBuffer;
  /** Its trace ring (protocol/trace.ts), when the system is traced; absent, the PD records nothing. */
  readonly trace?: TraceBootData | undefined;
}

/** One end of an asynchronous channel: the descriptor of ipc/async (a record of SharedArrayBuffers). */
export interface PdAsyncEnd {
  readonly name: string;
  readonly role: "producer" | "consumer";
  readonly descriptor: unknown;
}

export interface PdRegionBootData {
  /** The name the PD finds the region by (`setvar_vaddr`, else the region's name). */
  readonly symbol: string;
  readonly region: string;
  readonly buffer: SharedArrayBuffer;
  /** `r`, `rw`, `rx`, `rwx`: a map without `w` gets a read-only view (cooperative; see docs). */
  readonly perms: string;
}

export interface PdEndBootData {
  /** The channel id local to this PD. */
  readonly id: number;
  /** The channel's buffer, shared with exactly the PD at the other end. */
  readonly buffer: SharedArrayBuffer;
  /** Which end of the channel buffer this PD is. */
  readonly end: 0 | 1;
  /** This end may ppcall the other. */
  readonly pp: boolean;
  /** This end may notify the other. */
  readonly notify: boolean;
  /** The other end may ppcall this PD: this PD serves calls on this channel (a CALLED on any other is ignored). */
  readonly serves: boolean;
  /** The other end may notify this PD; a notification on an end without it is cleared and never delivered. */
  readonly peerNotifies: boolean;
  readonly peer: string;
  /** The other PD's doorbell, rung after publishing a notification or a call. */
  readonly peerDoorbell: SharedArrayBuffer;
}

export interface WaitConfig {
  /** `sync`: the PD's loop blocks its thread (fastest). `async`: it keeps the event loop alive. */
  readonly mode: "sync" | "async";
  readonly spinMicros: number;
  readonly sliceMs: number;
  /**
   * More PDs than cores: a PD that woke a sleeping peer sleeps at once when its turn is done instead of spinning
   * (the peer it woke needs a core, and the spinner may hold the one it would get).
   */
  readonly yieldAfterWake?: boolean;
}

/** Messages a PD worker posts to the kernel. */
export type PdToKernel =
  // ["loaded"]: the program module was imported and has a valid default export
  | { readonly type: "loaded" }
  // ["init-done"]: init() returned; the PD now waits for events
  | { readonly type: "init-done" }
  // ["fault", entry, error]: an entry point threw (or the program failed to load); the PD is stopping, or (a
  // child) waits for its parent's verdict. At most one fault is pending at a time.
  | { readonly type: "fault"; readonly entry: FaultEntry; readonly error: SerializedIpcError }
  // ["stopped"]: the loop returned (it saw STOP, or the PD faulted); nothing may follow
  | { readonly type: "stopped" };

/** The entry points a PD may report a fault in (`load`: importing the program failed). */
export const FAULT_ENTRIES = ["load", "init", "notified", "protected", "fault", "serve"] as const;
export type FaultEntry = (typeof FAULT_ENTRIES)[number];
