/**
 * How an isokit diagnostic relates to the error Microkit's tool prints for the same file.
 *
 * A message is Microkit's text verbatim, with two mechanical differences:
 *
 * - Microkit starts with `Error: `; isokit's formatted line says `error: ` after the location
 *   (`formatDiagnostic`: `file:line:col: error: <message>`).
 * - Where Microkit ends with the location of the element it blames (`... on element 'map': f.system:9:9`,
 *   `Missing required attribute ...: f.system:9:9`, `invalid XML element 'x': f.system:9:9`), that location
 *   is the diagnostic's own and is printed once, first; the message stops before it.
 *
 * A location Microkit writes *inside* its text (`... in protection domain: 'test2' @ f.system:12:9`, the two
 * `@` of an I/O-port overlap) is kept where Microkit writes it. Some messages go on after Microkit's text
 * with isokit's own note in parentheses (where the first of two duplicates was defined).
 */

import type { Diagnostic } from "../errors.ts";

/** Messages whose Microkit form ends with `: <the diagnostic's location>`. */
const TRAILING_LOCATION = [
  / on element '[^']+'$/,
  /^Missing required attribute '[^']+' on element '[^']+'$/,
  /^invalid XML element '[^']*'$/,
  /^invalid XML element as child of <[a-z_]+> '[^']*'$/,
  /^unknown PD name '[^']*'$/,
  /^io address space requires seL4 to be built with IOMMU support$/,
];

/** Microkit's error text for a diagnostic: `Error: ` dropped, its trailing location put back. */
export function microkitText(d: Diagnostic): string {
  const where = d.location === undefined ? undefined : `${d.location.file}:${d.location.line}:${d.location.column}`;
  if (where !== undefined && TRAILING_LOCATION.some((p) => p.test(d.message))) return `${d.message}: ${where}`;
  return d.message;
}
