/**
 * docs/protocol.md against the source of truth, src/protocol/*.ts. Every table that follows a
 * `<!-- checked: ... -->` comment is parsed and compared with the constants it names:
 *
 *   offsets=M.OBJ words=M.OBJ_I32 size=M.BYTES   a layout table: `byte`, `word` (`—` if not an Atomics word) and
 *                                                `field` (its first `code` span is the key); every key of both
 *                                                objects has a row; the section heading says "(N bytes"
 *   values=M.OBJ                                 `value` and `name` (a row without a `code` name is a retired
 *                                                value, which no key may have); every key has a row
 *   constants                                    `constant` and `value`: numeric exports of the covered modules
 *
 * and every numeric export, and every object of numbers, of the covered modules must be in some table.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as endpoint from "../src/protocol/endpoint.ts";
import * as layout from "../src/protocol/layout.ts";
import * as messageInfo from "../src/protocol/message-info.ts";

/** The modules whose numeric exports docs/protocol.md must mirror, by the names the markers use. */
const modules: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  layout,
  endpoint,
  "message-info": messageInfo,
};

const docPath = join(import.meta.dirname, "..", "docs", "protocol.md");

type NumberTable = Readonly<Record<string, number>>;

function isNumberTable(v: unknown): v is NumberTable {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).length > 0 && Object.values(v).every((x) => typeof x === "number");
}

/** `M.NAME` of a marker, resolved. */
function lookup(ref: string): { value: unknown; module: string; name: string } {
  const dot = ref.indexOf(".");
  const module = ref.slice(0, dot);
  const name = ref.slice(dot + 1);
  const m = modules[module];
  if (m === undefined || !(name in m)) throw new Error(`marker names ${ref}, which src/protocol does not export`);
  return { value: m[name], module, name };
}

/** A number as the doc writes it: 1,024 or 1_024, 0x436f7369, 2^52-1, 2^20. */
function parseNumber(cell: string): number | undefined {
  const t = cell.replace(/[`,_\s]/g, "").replace("−", "-");
  if (/^\d+$/.test(t)) return Number(t);
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t.slice(2), 16);
  const pow = /^2\^(\d+)(-1)?$/.exec(t);
  if (pow !== null) return 2 ** Number(pow[1]) - (pow[2] === undefined ? 0 : 1);
  return undefined;
}

/** The first `code` span of a cell: the key it documents. */
function keyOf(cell: string): string | undefined {
  return /`([A-Za-z_][A-Za-z0-9_]*)`/.exec(cell)?.[1];
}

function cells(line: string): string[] {
  // A cell may contain `\|` (an escaped pipe); split on the others.
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim());
}

interface Table {
  readonly marker: string;
  readonly line: number;
  readonly heading: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Every table after a `checked:` marker, with the heading of its section. */
function markedTables(text: string): Table[] {
  const lines = text.split("\n");
  const tables: Table[] = [];
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("#")) heading = line;
    const m = /^<!--\s*checked:(.*?)-->\s*$/.exec(line);
    if (m === null) continue;
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === "") j++;
    const block: string[] = [];
    for (; j < lines.length && lines[j]!.trimStart().startsWith("|"); j++) block.push(lines[j]!);
    const [header, separator, ...rows] = block;
    if (header === undefined || separator === undefined || !/^\|[\s|:-]+\|$/.test(separator.trim())) {
      throw new Error(`docs/protocol.md:${i + 1}: a checked: marker not followed by a table`);
    }
    tables.push({ marker: m[1]!.trim(), line: i + 1, heading, header: cells(header).map((h) => h.toLowerCase()), rows: rows.map(cells) });
  }
  return tables;
}

/** Everything in `text` (a docs/protocol.md) that disagrees with src/protocol; empty when it mirrors it. */
function checkDoc(text: string): string[] {
  const problems: string[] = [];
  const covered = new Set<string>(); // "module.NAME" of every export some table mirrors
  const tables = markedTables(text);
  for (const table of tables) {
    const at = `docs/protocol.md:${table.line} (${table.marker})`;
    const column = (name: string): number => {
      const c = table.header.indexOf(name);
      if (c < 0) throw new Error(`${at}: the table has no '${name}' column`);
      return c;
    };
    if (table.marker === "constants") {
      const nameCol = column("constant");
      const valueCol = column("value");
      for (const row of table.rows) {
        const name = keyOf(row[nameCol] ?? "");
        const owners = Object.entries(modules).filter(([, m]) => name !== undefined && typeof m[name] === "number");
        if (name === undefined || owners.length !== 1) {
          problems.push(`${at}: '${row[nameCol]}' is no numeric export of ${Object.keys(modules).join(", ")} (or of more than one)`);
          continue;
        }
        const [module, m] = owners[0]!;
        covered.add(`${module}.${name}`);
        const documented = parseNumber(row[valueCol] ?? "");
        if (documented !== m[name]) problems.push(`${at}: ${name} is ${String(m[name])}, the table says '${row[valueCol]}'`);
      }
      continue;
    }
    const options = new Map(table.marker.split(/\s+/).map((kv) => kv.split("=") as [string, string]));
    for (const key of options.keys()) {
      if (!["offsets", "words", "size", "values"].includes(key)) throw new Error(`${at}: unknown marker option '${key}'`);
    }
    const refs = [...options.entries()].filter(([k]) => k !== "size").map(([, ref]) => lookup(ref));
    for (const ref of refs) {
      if (!isNumberTable(ref.value)) throw new Error(`${at}: ${ref.module}.${ref.name} is not an object of numbers`);
      covered.add(`${ref.module}.${ref.name}`);
    }
    const seen = new Set<string>();
    const rowKey = (row: readonly string[], col: number): string | undefined => {
      const key = keyOf(row[col] ?? "");
      if (key !== undefined && seen.has(key)) problems.push(`${at}: ${key} has two rows`);
      if (key !== undefined) seen.add(key);
      return key;
    };
    if (options.has("values")) {
      const values = lookup(options.get("values")!).value as NumberTable;
      const valueCol = column("value");
      const nameCol = column("name");
      for (const row of table.rows) {
        const key = rowKey(row, nameCol);
        const documented = parseNumber(row[valueCol] ?? "");
        if (key === undefined) {
          // A retired value: documented as unused, so no key may have it.
          const holder = Object.entries(values).find(([, v]) => v === documented);
          if (holder !== undefined) problems.push(`${at}: ${row[valueCol]} is listed as unused, but it is ${holder[0]}`);
          continue;
        }
        if (!(key in values)) problems.push(`${at}: ${key} is no value of ${options.get("values")!}`);
        else if (documented !== values[key]) problems.push(`${at}: ${key} is ${values[key]}, the table says '${row[valueCol]}'`);
      }
      for (const key of Object.keys(values)) if (!seen.has(key)) problems.push(`${at}: ${key} (${values[key]}) is missing from the table`);
      continue;
    }
    const offsets = options.has("offsets") ? (lookup(options.get("offsets")!).value as NumberTable) : undefined;
    const words = options.has("words") ? (lookup(options.get("words")!).value as NumberTable) : undefined;
    if (offsets === undefined && words === undefined) throw new Error(`${at}: a layout marker names neither offsets nor words`);
    const byteCol = column("byte");
    const wordCol = column("word");
    const fieldCol = column("field");
    for (const row of table.rows) {
      const key = rowKey(row, fieldCol);
      if (key === undefined) {
        problems.push(`${at}: the row '${row.join(" | ")}' names no field`);
        continue;
      }
      const byte = parseNumber(row[byteCol] ?? "");
      const wordCell = row[wordCol] ?? "";
      const wordOfKey = words?.[key];
      const expectedByte = offsets !== undefined ? offsets[key] : wordOfKey === undefined ? undefined : wordOfKey * 4;
      if (expectedByte === undefined) problems.push(`${at}: ${key} is no field of ${options.get("offsets") ?? options.get("words")!}`);
      else if (byte !== expectedByte) problems.push(`${at}: ${key} is at byte ${expectedByte}, the table says '${row[byteCol]}'`);
      const expectedWord = words?.[key];
      if (wordCell === "—" || wordCell === "-") {
        if (expectedWord !== undefined) problems.push(`${at}: ${key} is word ${expectedWord}, the table says it is no Atomics word`);
      } else if (expectedWord === undefined) {
        problems.push(`${at}: ${key} has no word index in ${options.get("words") ?? "the source"}, the table says '${wordCell}'`);
      } else if (parseNumber(wordCell) !== expectedWord) {
        problems.push(`${at}: ${key} is word ${expectedWord}, the table says '${wordCell}'`);
      }
    }
    for (const [name, table_] of [[options.get("offsets"), offsets], [options.get("words"), words]] as const) {
      if (table_ === undefined) continue;
      for (const key of Object.keys(table_)) if (!seen.has(key)) problems.push(`${at}: ${key} (${name}) is missing from the table`);
    }
    if (options.has("size")) {
      const size = lookup(options.get("size")!);
      covered.add(`${size.module}.${size.name}`);
      const said = /\(([\d,]+) bytes/.exec(table.heading)?.[1];
      if (said === undefined || parseNumber(said) !== size.value) problems.push(`${at}: the heading '${table.heading}' should say (${String(size.value)} bytes`);
    }
  }
  for (const [module, m] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(m)) {
      if ((typeof value === "number" || isNumberTable(value)) && !covered.has(`${module}.${name}`)) {
        problems.push(`docs/protocol.md: src/protocol/${module}.ts exports ${name}, which no checked table mirrors`);
      }
    }
  }
  return problems;
}

const doc = readFileSync(docPath, "utf8");

test("docs/protocol.md mirrors every offset, word index, value and constant of src/protocol's layouts", () => {
  const tables = markedTables(doc);
  assert.ok(tables.length >= 20, `the doc's checked tables are found (${tables.length})`);
  assert.deepEqual(checkDoc(doc), []);
});

test("the check fails on a wrong offset, a wrong word, a missing row, a wrong value, an unknown name and a stale heading", () => {
  const mutate = (from: string, to: string): string[] => {
    assert.ok(doc.includes(from), `the doc has '${from}'`);
    return checkDoc(doc.replace(from, to));
  };
  const has = (problems: string[], fragment: string): void => {
    assert.ok(problems.some((p) => p.includes(fragment)), `expected a problem with '${fragment}', got ${JSON.stringify(problems)}`);
  };
  has(mutate("| 128 | 32 | `CALL_STATE`", "| 132 | 32 | `CALL_STATE`"), "CALL_STATE is at byte 128, the table says '132'");
  has(mutate("| 128 | 32 | `CALL_STATE`", "| 128 | 33 | `CALL_STATE`"), "CALL_STATE is word 32, the table says '33'");
  has(mutate("| 152 | — | `MRS`", "| 152 | 38 | `MRS`"), "MRS has no word index");
  has(mutate("| 640 | 160 | `ENTRY` |", "| 640 | — | `ENTRY` |"), "ENTRY is word 160, the table says it is no Atomics word");
  const withoutSleeps = doc.split("\n").filter((l) => !l.startsWith("| 644 | 161 | `SLEEPS`")).join("\n");
  has(checkDoc(withoutSleeps), "SLEEPS (layout.CONTROL) is missing from the table");
  has(mutate("| 5 | `CALLEE_RESTARTED` |", "| 6 | `CALLEE_RESTARTED` |"), "CALLEE_RESTARTED is 5, the table says '6'");
  has(mutate("| 3 | *retired* |", "| 4 | *retired* |"), "4 is listed as unused, but it is REPLIED");
  has(mutate("| 4 | `RECEIVER_RESTARTED` |", "| 4 | `RECEIVER_REBOOTED` |"), "RECEIVER_REBOOTED is no value of endpoint.SlotGone");
  has(mutate("| `CHANNEL_MAGIC` | 0x436f7369 |", "| `CHANNEL_MAGIC` | 0x436f7368 |"), "CHANNEL_MAGIC is 1131377513");
  has(mutate("## Control (768 bytes, one per PD)", "## Control (640 bytes, one per PD)"), "should say (768 bytes");
  has(mutate("| `GUARD_BYTES` | 4224 |", "| `GUARD_SIZE` | 4224 |"), "GUARD_BYTES, which no checked table mirrors");
});
