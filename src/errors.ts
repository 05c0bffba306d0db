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
  /**
   * The peer PD was restarted (by its parent's `fault()` or a restart policy) while the call was in flight; the
   * peer runs again as a new generation, and a channel from the system description works again (docs/supervision.md).
   */
  PeerRestarted: "PeerRestarted",
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

/** Longest message (UTF-16 units) of an error rebuilt from another thread; the rest is cut and marked. */
export const MAX_FOREIGN_MESSAGE = 4096;
/** Longest stack and name kept of an error rebuilt from another thread. */
const MAX_FOREIGN_STACK = 16384;
const MAX_FOREIGN_NAME = 64;
const MAX_FOREIGN_FIELD = 256;

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True if `code` is one of isokit's stable codes (own keys only: "toString" is not a code). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && KNOWN_CODES.has(code);
}

/**
 * Rebuilds an error serialized in another thread; the result is an `IpcError` if the original was one.
 *
 * The record may come from a hostile PD, so it is read as untrusted input and this never throws: only a known
 * `ErrorCode` makes an `IpcError` (any other code gives a plain error that says the code was unknown), the
 * message, name and stack are cut to bounded lengths, details of the wrong type are left out, and anything
 * that is not a record at all becomes an error saying so.
 */
export function deserializeError(record: SerializedIpcError): Error {
  const r: unknown = record;
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    return new Error(`an error record from another thread was not a record (got ${r === null ? "null" : Array.isArray(r) ? "an array" : typeof r})`);
  }
  const fields = r as { readonly [K in "name" | "message" | "stack" | "code" | "details"]?: unknown };
  const message = bounded(typeof fields.message === "string" ? fields.message : "(the error record had no message)", MAX_FOREIGN_MESSAGE);
  const stack = typeof fields.stack === "string" ? bounded(fields.stack, MAX_FOREIGN_STACK) : undefined;
  const code = fields.code;
  let error: Error;
  if (isErrorCode(code)) {
    error = new IpcError(code, message, foreignDetails(fields.details));
  } else {
    const unknown = code === undefined ? "" : `(unknown error code '${bounded(typeof code === "string" ? code : typeof code, MAX_FOREIGN_NAME)}') `;
    error = new Error(`${unknown}${message}`);
    error.name = typeof fields.name === "string" && fields.name !== "" ? bounded(fields.name, MAX_FOREIGN_NAME) : "Error";
  }
  if (stack !== undefined) error.stack = stack;
  return error;
}

/** The details of a foreign record that have the right types; the rest are dropped (never thrown about). */
function foreignDetails(value: unknown): IpcErrorDetails {
  if (typeof value !== "object" || value === null) return {};
  const d = value as { readonly [K in keyof IpcErrorDetails]?: unknown };
  const int = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
  return {
    ...(typeof d.operation === "string" ? { operation: bounded(d.operation, MAX_FOREIGN_FIELD) } : {}),
    ...(int(d.channel) ? { channel: d.channel } : {}),
    ...(typeof d.pd === "string" ? { pd: bounded(d.pd, MAX_FOREIGN_FIELD) } : {}),
    ...(typeof d.capability === "bigint" ? { capability: d.capability } : {}),
    ...(int(d.endpoint) ? { endpoint: d.endpoint } : {}),
  };
}

/** `text` cut to `max` UTF-16 units, marked when cut. */
function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters cut)`;
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}
