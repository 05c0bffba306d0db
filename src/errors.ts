/**
 * Every error isokit throws, each with a stable `code`.
 *
 * One class, `IpcError`, discriminated by `code`: callers branch on `err.code` (a literal union), never on the
 * message text, which may be reworded. Structured fields say which operation failed on which object, so a
 * message such as `ppcall: not valid for channel 13` can also be read as `{ operation: "ppcall", channel: 13 }`.
 *
 * Errors cross threads (a PD's fault reaches the kernel, a callee's death reaches its caller) as plain
 * `SerializedIpcError` records, because structured clone keeps only `name`, `message` and `stack` of an Error.
 */

export const ErrorCode = {
  /** A channel id outside 0..61, or one the calling PD does not hold. */
  InvalidChannel: "InvalidChannel",
  /** The operation needs a right the caller lacks (e.g. `ppcall` on an end without `pp`). */
  PermissionDenied: "PermissionDenied",
  /** The peer PD died (threw out of an entry point, exited or was stopped) before or during the operation. */
  PeerDied: "PeerDied",
  /** A blocking operation ran out of time. */
  Timeout: "Timeout",
  /** More message registers (or bytes) than a message can carry. */
  MessageTooLarge: "MessageTooLarge",
  /** A system description breaks a rule; `diagnostics` holds every located problem. */
  InvalidSystem: "InvalidSystem",
  /** A value passed to an API is out of range or of the wrong kind. */
  InvalidArgument: "InvalidArgument",
  /** A one-at-a-time resource is already in use (e.g. a second deferred notify in one entry point). */
  ResourceBusy: "ResourceBusy",
  /** A PD-side API was used outside a running protection domain. */
  NotInitialized: "NotInitialized",
  /** A PD's entry point threw, or returned something the runtime cannot use. */
  EntryPointFailed: "EntryPointFailed",
  /** The system (or the PD) has been shut down. */
  ShutDown: "ShutDown",
  /** A capability token names nothing in the holder's capability space (guessed, stale, closed or revoked). */
  InvalidCapability: "InvalidCapability",
  /** No protection domain with that id exists (any more). */
  ProcessNotFound: "ProcessNotFound",
  /** No room for another object or capability (e.g. an object that has used all 65,535 generations). */
  OutOfMemory: "OutOfMemory",
  /** No endpoint (or channel) with that id exists (any more). */
  EndpointNotFound: "EndpointNotFound",
  /** A non-blocking operation (timeout 0) found nothing to do without waiting. */
  WouldBlock: "WouldBlock",
  /** The receiver refused the message: the sender (PD or capability) is over its `RateLimits`. */
  RateLimitExceeded: "RateLimitExceeded",
  /** A message the receiver cannot read (bad length, unknown tag, malformed framing). */
  InvalidMessage: "InvalidMessage",
  /** A bounded queue has no free slot (a non-blocking send, or a bounded value that is full). */
  QueueFull: "QueueFull",
  /** A bounded queue has nothing to receive (a non-blocking receive). */
  QueueEmpty: "QueueEmpty",
  /** The sender's slot still holds an earlier message or an abandoned call the receiver has not finished. */
  EndpointBusy: "EndpointBusy",
  /** A shared region that does not exist, is not mapped, or a range outside it. */
  InvalidMemoryRegion: "InvalidMemoryRegion",
  /** The endpoint or channel was closed by its owner (or its owner's capability space was cleaned up). */
  EndpointClosed: "EndpointClosed",
  /** The caller's `AbortSignal` fired; `cause` holds the signal's reason. */
  Aborted: "Aborted",
  /** A typed value's layout signature does not match the one the receiver expects. */
  SignatureMismatch: "SignatureMismatch",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where in a system description a diagnostic points. Lines and columns are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface Diagnostic {
  readonly severity: "error" | "warning";
  readonly message: string;
  readonly location?: SourceLocation | undefined;
}

/** Structured fields an `IpcError` may carry. All optional; each names the object of the failed operation. */
export interface IpcErrorDetails {
  /** The operation that failed, as the API spells it: `ppcall`, `notify`, `boot`, ... */
  readonly operation?: string;
  /** The channel id local to the PD that made the call. */
  readonly channel?: number;
  /** A protection domain's name. */
  readonly pd?: string;
  /** For `InvalidSystem`: every problem found, in source order. */
  readonly diagnostics?: readonly Diagnostic[];
  /** The capability token the operation was given. */
  readonly capability?: bigint;
  /** An endpoint (or channel object) id. */
  readonly endpoint?: number;
}

export class IpcError extends Error {
  override readonly name = "IpcError";
  readonly code: ErrorCode;
  readonly operation: string | undefined;
  readonly channel: number | undefined;
  readonly pd: string | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly capability: bigint | undefined;
  readonly endpoint: number | undefined;

  constructor(code: ErrorCode, message: string, details: IpcErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.operation = details.operation;
    this.channel = details.channel;
    this.pd = details.pd;
    this.diagnostics = details.diagnostics ?? [];
    this.capability = details.capability;
    this.endpoint = details.endpoint;
  }

  /** For `JSON.stringify`: the capability token (a bigint) as a hex string. */
  toJSON(): Record<string, unknown> {
    const { details, ...rest } = serializeError(this);
    const capability = details?.capability;
    return { ...rest, details: { ...details, capability: capability === undefined ? undefined : `0x${capability.toString(16)}` } };
  }
}

export function isIpcError(value: unknown, code?: ErrorCode): value is IpcError {
  return value instanceof IpcError && (code === undefined || value.code === code);
}

/** `file:line:col: severity: message`, the one place a located diagnostic is formatted (microkit `value_error`). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.location === undefined ? "" : `${d.location.file}:${d.location.line}:${d.location.column}: `;
  return `${where}${d.severity}: ${d.message}`;
}

/** The plain record an error travels as between threads. */
export interface SerializedIpcError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly code?: ErrorCode | undefined;
  readonly details?: IpcErrorDetails | undefined;
}

/**
 * The record an error travels as. `stack: false` leaves the stack out: the kernel's errors reach PDs without
 * the kernel's frames (which name host paths).
 */
export function serializeError(error: unknown, options: { readonly stack?: boolean } = {}): SerializedIpcError {
  const withStack = options.stack !== false;
  if (error instanceof IpcError) {
    const details: IpcErrorDetails = {
      ...(error.operation === undefined ? {} : { operation: error.operation }),
      ...(error.channel === undefined ? {} : { channel: error.channel }),
      ...(error.pd === undefined ? {} : { pd: error.pd }),
      ...(error.diagnostics.length === 0 ? {} : { diagnostics: error.diagnostics }),
      ...(error.capability === undefined ? {} : { capability: error.capability }),
      ...(error.endpoint === undefined ? {} : { endpoint: error.endpoint }),
    };
    return { name: error.name, message: error.message, ...(withStack ? { stack: error.stack } : {}), code: error.code, details };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, ...(withStack ? { stack: error.stack } : {}) };
  return { name: "Error", message: `non-Error value thrown: ${describeThrown(error)}` };
}

/** Rebuilds an error serialized in another thread; the result is an `IpcError` if the original was one. */
export function deserializeError(record: SerializedIpcError): Error {
  if (record.code !== undefined) {
    const error = new IpcError(record.code, record.message, record.details ?? {});
    if (record.stack !== undefined) error.stack = record.stack;
    return error;
  }
  const error = new Error(record.message);
  error.name = record.name;
  if (record.stack !== undefined) error.stack = record.stack;
  return error;
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}
