/**
 * A small XML tree with a location on every element and attribute, built with saxes.
 *
 * Locations are 1-based lines and columns (columns count code points, as roxmltree does) and point at an
 * element's `<`, an attribute's name, or the first non-blank character of stray text. saxes reports its
 * position one or two characters *past* the element name (it has consumed the delimiter, which may be
 * `\r\n`), so the `<` is found by searching back for `<name` from there rather than by arithmetic.
 *
 * Nothing here throws on bad input: the first well-formedness error stops the parse and becomes one located
 * diagnostic (later saxes errors would only describe the fallout of the first); text inside elements is
 * reported for every element, and the tree is still returned so the caller can report more.
 */

import { createRequire } from "node:module";
import type { Diagnostic, SourceLocation } from "../errors.ts";

// saxes is CommonJS: required directly it loads in ~12 ms; imported, Node's ESM loader first scans it and its
// character tables for their exports (~55 ms), most of what `isokit check` spends before it reads a file.
const { SaxesParser } = createRequire(import.meta.url)("saxes") as typeof import("saxes");

export interface XmlAttribute {
  readonly name: string;
  /** As saxes delivers it: entities decoded, whitespace normalised. */
  readonly value: string;
  readonly location: SourceLocation;
}

export interface XmlElement {
  readonly name: string;
  /** In document order. */
  readonly attributes: ReadonlyMap<string, XmlAttribute>;
  readonly children: readonly XmlElement[];
  readonly location: SourceLocation;
}

export type XmlResult =
  | { readonly ok: true; readonly root: XmlElement; readonly diagnostics: Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

/** Thrown from the saxes error handler to stop at the first well-formedness error; never escapes `parseXml`. */
class Stop extends Error {}

export function parseXml(text: string, file: string): XmlResult {
  const at = locator(text, file);
  const diagnostics: Diagnostic[] = [];
  const parser = new SaxesParser({ position: true });
  const stack: { element: XmlElement; children: XmlElement[] }[] = [];
  let root: XmlElement | undefined;
  let tagStart = 0;
  // End of the last piece of markup: stray text starts here (saxes hands text over decoded, so its raw
  // extent cannot be recovered from the string it gives).
  let markupEnd = 0;
  // An object, not a `let`: TypeScript does not see the assignment made inside the saxes callback.
  const state = { malformed: false, closing: false };

  parser.on("opentagstart", (tag) => {
    tagStart = Math.max(0, text.lastIndexOf(`<${tag.name}`, parser.position - tag.name.length - 1));
  });
  parser.on("opentag", (tag) => {
    const location = at(tagStart);
    const attributes = new Map<string, XmlAttribute>();
    const offsets = attributeOffsets(text, tagStart + 1 + tag.name.length, parser.position);
    // Without the xmlns option saxes gives plain strings; its type also covers namespace mode.
    const raw = tag.attributes as Record<string, string | { readonly value: string }>;
    for (const [name, value] of Object.entries(raw)) {
      attributes.set(name, { name, value: typeof value === "string" ? value : value.value, location: at(offsets.get(name) ?? tagStart) });
    }
    const children: XmlElement[] = [];
    const element: XmlElement = { name: tag.name, attributes, children, location };
    const parent = stack.at(-1);
    if (parent === undefined) root ??= element;
    else parent.children.push(element);
    stack.push({ element, children });
    markupEnd = parser.position;
  });
  parser.on("closetag", () => {
    stack.pop();
    markupEnd = parser.position;
  });
  parser.on("text", (data) => {
    const end = text[parser.position - 1] === "<" ? parser.position - 1 : parser.position;
    const parent = stack.at(-1);
    if (parent !== undefined && data.trim() !== "") {
      const raw = text.slice(markupEnd, end);
      const first = raw.search(/[^ \t\r\n]/);
      diagnostics.push({
        severity: "error",
        message: `unexpected text found in element '${parent.element.name}' @ ${where(parent.element.location)}`,
        location: at(markupEnd + Math.max(0, first)),
      });
    }
    markupEnd = end;
  });
  parser.on("cdata", (data) => {
    const parent = stack.at(-1);
    if (parent !== undefined && data.trim() !== "") {
      const start = text.lastIndexOf("<![CDATA[", parser.position);
      diagnostics.push({
        severity: "error",
        message: `unexpected text found in element '${parent.element.name}' @ ${where(parent.element.location)}`,
        location: at(Math.max(0, start)),
      });
    }
    markupEnd = parser.position;
  });
  for (const event of ["comment", "processinginstruction", "doctype", "xmldecl"] as const) {
    parser.on(event, () => {
      markupEnd = parser.position;
    });
  }
  parser.on("error", (error) => {
    state.malformed = true;
    // While closing, the problem is "the input stopped here"; before that, it is the character just read.
    const offset = state.closing ? text.length : Math.max(0, Math.min(parser.position, text.length) - 1);
    diagnostics.length = 0;
    diagnostics.push({ severity: "error", message: `Could not parse '${file}': ${error.message.replace(/^\d+:\d+: /, "")}`, location: at(offset) });
    throw new Stop();
  });

  try {
    parser.write(text);
    state.closing = true;
    parser.close();
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  }
  if (state.malformed || root === undefined) {
    if (diagnostics.length === 0) diagnostics.push({ severity: "error", message: "document must contain a root element", location: at(0) });
    return { ok: false, diagnostics };
  }
  return { ok: true, root, diagnostics };
}

/**
 * Where each attribute's name starts inside the raw start tag `text[from, to)`. Only called after saxes has
 * accepted the tag, so names and quoted values are well formed and a value cannot hide a `name="` pattern
 * from this scan (the scan steps over every quoted value whole).
 */
function attributeOffsets(text: string, from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  const pattern = /([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')/gy;
  let index = from;
  while (index < to) {
    const space = /\s*/y;
    space.lastIndex = index;
    space.exec(text);
    pattern.lastIndex = space.lastIndex;
    const match = pattern.exec(text);
    if (match === null || match.index >= to) break;
    out.set(match[1]!, match.index);
    index = pattern.lastIndex;
  }
  return out;
}

/**
 * Offset -> 1-based line and code-point column. Lines end at `\n`, `\r\n` or a lone `\r`, as XML says.
 * Offsets arrive mostly in increasing order, so the column count resumes from the previous answer on the
 * same line: a minified file with everything on one line stays linear.
 */
function locator(text: string, file: string): (offset: number) => SourceLocation {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) starts.push(i + 1);
  }
  // A byte-order mark is not a column.
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let last = { line: -1, offset: 0, column: 1 };
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = Math.max(starts[lo]!, lo === 0 ? bom : 0);
    // Count from the previous answer when it is on this line (forwards or backwards), else from the line start.
    let { offset: from, column } = last.line === lo && last.offset >= lineStart ? last : { offset: lineStart, column: 1 };
    for (; from < offset; from++) column += codePointStep(text.charCodeAt(from));
    for (; from > offset; from--) column -= codePointStep(text.charCodeAt(from - 1));
    last = { line: lo, offset, column };
    return { file, line: lo + 1, column };
  };
}

/** As Microkit writes a place inside a message (`... @ file:line:col`). */
function where(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

/** 1 for a UTF-16 unit that starts a code point, 0 for the low half of a surrogate pair. */
function codePointStep(unit: number): number {
  return unit >= 0xdc00 && unit <= 0xdfff ? 0 : 1;
}
