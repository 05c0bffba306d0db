/**
 * The one reader of what a PD's worker posts to the kernel (protocol/control.ts, `PdToKernel`).
 *
 * A worker runs untrusted code, so a posted value is untrusted input: deny by default. Only the exact shapes of
 * `PdToKernel` pass: a plain object, a known `type`, exactly that type's keys, each of the right type; the error
 * record of a fault must be a plain object with a string `message` (it is then rebuilt by `deserializeError`,
 * which bounds it). Anything else is an `IpcError` `InvalidMessage` naming the PD and what it sent, quoted
 * briefly, and the kernel faults that PD. Decoding never walks a PD-built structure deeper than one level and
 * never calls PD-supplied code (structured clone leaves no getters or prototypes to call).
 */

import { IpcError, type SerializedIpcError } from "../errors.ts";
import { FAULT_ENTRIES, type FaultEntry, type PdToKernel } from "../protocol/control.ts";

const ENTRIES: ReadonlySet<string> = new Set(FAULT_ENTRIES);
/** Longest piece of a refused message quoted in the error. */
const QUOTE = 80;

/**
 * @returns the message, typed
 * @throws IpcError `InvalidMessage` (operation `control`) for anything that is not exactly a `PdToKernel`
 */
export function decodeControl(pd: string, value: unknown): PdToKernel {
  const refuse = (why: string): IpcError =>
    new IpcError("InvalidMessage", `control: PD '${pd}' sent ${why}; a worker may post only the messages of protocol/control.ts`, {
      operation: "control",
      pd,
    });
  if (!isPlainRecord(value)) throw refuse(`${describe(value)}, not a control message`);
  const type = value.type;
  if (typeof type !== "string") throw refuse(`a message whose type is ${describe(type)}`);
  const keys = Object.keys(value);
  const only = (...allowed: string[]): void => {
    const extra = keys.filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw refuse(`a '${quote(type)}' message with unknown field${extra.length > 1 ? "s" : ""} ${extra.slice(0, 3).map((k) => `'${quote(k)}'`).join(", ")}`);
  };
  switch (type) {
    case "loaded": // ["loaded"]
    case "init-done": // ["init-done"]
    case "stopped": // ["stopped"]
      only("type");
      return { type };
    case "fault": {
      // ["fault", entry, error]
      only("type", "entry", "error");
      const { entry, error } = value;
      if (typeof entry !== "string" || !ENTRIES.has(entry)) {
        throw refuse(`a fault in ${typeof entry === "string" ? `'${quote(entry)}'` : describe(entry)}, which is not an entry point (${FAULT_ENTRIES.join(", ")})`);
      }
      if (!isPlainRecord(error) || typeof error.message !== "string") throw refuse(`a fault whose error is ${describe(error)}, not an error record`);
      return { type, entry: entry as FaultEntry, error: error as unknown as SerializedIpcError };
    }
    default:
      throw refuse(`an unknown control message '${quote(type)}'`);
  }
}

/** The fields a control message may have; all unknown until checked. */
type Fields = { readonly [K in "type" | "entry" | "error" | "message"]?: unknown };

function isPlainRecord(value: unknown): value is Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What a value is, in a few words, without printing any of a PD's long strings. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return `the string '${quote(value)}'`;
  if (typeof value === "object") return isPlainRecord(value) ? "a record" : "an object that is not a plain record";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return `the ${typeof value} ${String(value)}`;
  return typeof value;
}

/** `text` cut for quoting in an error, with its control characters shown escaped. */
function quote(text: string): string {
  const cut = text.length > QUOTE ? `${text.slice(0, QUOTE)}... (${text.length} characters)` : text;
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return cut.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
