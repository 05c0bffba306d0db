/**
 * A small XML tree with a location on every element, built with saxes. Locations are 1-based and point at
 * the element's `<`, as Microkit (roxmltree) reports them. Malformed XML and text inside elements become
 * located diagnostics; nothing here throws on bad input.
 */

import { SaxesParser } from "saxes";
import type { Diagnostic, SourceLocation } from "../errors.ts";

export interface XmlElement {
  readonly name: string;
  /** Attributes in document order. */
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: XmlElement[];
  readonly location: SourceLocation;
}

export type XmlResult = { readonly ok: true; readonly root: XmlElement } | { readonly ok: false; readonly diagnostics: Diagnostic[] };

export function parseXml(text: string, file: string): XmlResult {
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let start: SourceLocation = { file, line: 1, column: 1 };
  const diagnostics: Diagnostic[] = [];
  const error = (message: string, location: SourceLocation): void => {
    diagnostics.push({ severity: "error", message, location });
  };

  parser.on("opentagstart", (tag) => {
    // saxes stands one character past the name: the `<` is name.length + 1 columns back (1-based column).
    start = { file, line: parser.line, column: Math.max(1, parser.column - tag.name.length - 1) };
  });
  parser.on("opentag", (tag) => {
    const attributes = new Map<string, string>();
    // Without the xmlns option saxes gives plain string values; the union type covers its namespace mode too.
    const raw = tag.attributes as Record<string, string | { value: string }>;
    for (const [key, value] of Object.entries(raw)) attributes.set(key, typeof value === "string" ? value : value.value);
    const element: XmlElement = { name: tag.name, attributes, children: [], location: start };
    const parent = stack.at(-1);
    if (parent === undefined) {
      if (root === undefined) root = element;
    } else parent.children.push(element);
    stack.push(element);
  });
  parser.on("closetag", () => {
    stack.pop();
  });
  parser.on("text", (text) => {
    if (text.trim() !== "" && stack.length > 0) {
      const parent = stack.at(-1)!;
      error(`unexpected text '${text.trim().slice(0, 20)}' (element '${parent.name}')`, { file, line: parser.line, column: Math.max(1, parser.column) });
    }
  });
  parser.on("cdata", () => {
    error("unexpected CDATA section", { file, line: parser.line, column: Math.max(1, parser.column) });
  });
  parser.on("error", (e) => {
    // saxes prefixes its message with its own "line:col: "; ours comes first instead.
    error(`malformed XML: ${e.message.replace(/^\d+:\d+: /, "")}`, { file, line: parser.line, column: Math.max(1, parser.column) });
  });
  try {
    parser.write(text).close();
  } catch (e) {
    error(`malformed XML: ${e instanceof Error ? e.message.replace(/^\d+:\d+: /, "") : String(e)}`, {
      file,
      line: parser.line,
      column: Math.max(1, parser.column),
    });
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics: [diagnostics[0]!, ...diagnostics.slice(1).filter((d) => !d.message.startsWith("malformed"))] };
  if (root === undefined) return { ok: false, diagnostics: [{ severity: "error", message: "no root element", location: { file, line: 1, column: 1 } }] };
  return { ok: true, root };
}
