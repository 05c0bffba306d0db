/**
 * Numbers in `.system` attributes.
 *
 * Microkit (`sdf_parse_number`) takes decimal or `0x` hex and deletes every `_` before parsing, so it also
 * takes `1__0`, `_1` and `0x_10`. isokit is stricter and documents it: a `_` must sit between two digits
 * (`0x900_0000`, `1_000`, `0x2_000_000`), which every real file we know of satisfies and which catches a
 * doubled or dangling separator as the typo it usually is. Values go to 2^64 - 1 as Microkit's do; above
 * 2^53 - 1 a JavaScript number keeps only the nearest double, which is enough for what such a value can
 * meet: every limit it is checked against is far below it, and the messages that print it print what
 * Microkit prints for the values people write (powers of two, page-aligned addresses).
 *
 * Ids (`end id`, `irq id`, `irq irq`, `vcpu id`) are plain decimal: Microkit reads them with Rust's
 * `str::parse`, which has no hex and no `_` (and panics on them; isokit reports them instead).
 */

export type NumberResult = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly reason: string };

const U64_MAX = 2n ** 64n - 1n;
const DECIMAL = /^[0-9]+(?:_[0-9]+)*$/;
const HEX = /^0x[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*$/;

/** Decimal or `0x` hex with single `_` between digits. The reasons read like Rust's `ParseIntError`. */
export function readNumber(raw: string): NumberResult {
  if (raw === "" || raw === "0x") return { ok: false, reason: "cannot parse integer from empty string" };
  let value: bigint;
  if (DECIMAL.test(raw)) value = BigInt(raw.replaceAll("_", ""));
  else if (HEX.test(raw)) value = BigInt(`0x${raw.slice(2).replaceAll("_", "")}`);
  else if (/^(?:0x)?[0-9a-fA-F_]+$/.test(raw) && raw.includes("_")) return { ok: false, reason: "'_' must sit between two digits" };
  else return { ok: false, reason: "invalid digit found in string" };
  return value <= U64_MAX ? { ok: true, value: Number(value) } : { ok: false, reason: "number too large to fit in target type" };
}

/** Plain decimal, optionally negative (so that `-1` can be refused as "must be >= 0", as Microkit words it). */
export function readDecimal(raw: string): NumberResult {
  if (raw === "") return { ok: false, reason: "cannot parse integer from empty string" };
  if (!/^-?[0-9]+$/.test(raw)) return { ok: false, reason: raw.startsWith("0x") ? "hex is not allowed here, write it in decimal" : "invalid digit found in string" };
  // `+ 0` turns `-0` into 0.
  const value = Number(raw) + 0;
  return Number.isSafeInteger(value) ? { ok: true, value } : { ok: false, reason: "number too large (isokit's limit is 2^53 - 1)" };
}

/**
 * `readNumber` (or, with `decimalOnly`, a non-negative `readDecimal`) as a plain value; undefined when the
 * text is not a number isokit accepts.
 */
export function parseNumber(raw: string, decimalOnly = false): number | undefined {
  const result = decimalOnly ? readDecimal(raw) : readNumber(raw);
  return result.ok && result.value >= 0 ? result.value : undefined;
}
