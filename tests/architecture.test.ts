/**
 * The import direction between src/'s layers, checked on the sources themselves (every static, type-only and
 * literal dynamic import, as TypeScript's pre-processor lists them), independently of the lint rule.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const src = join(import.meta.dirname, "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier `file` imports. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
}

test("src/protocol imports nothing but itself and src/errors.ts: no Node module, no package (a browser or network transport uses it)", () => {
  const files = sourceFiles(join(src, "protocol"));
  assert.ok(files.length >= 5, "src/protocol has its modules");
  const outside: string[] = [];
  for (const file of files) {
    for (const spec of importsOf(file)) {
      if (!(spec.startsWith("./") || spec === "../errors.ts")) outside.push(`${relative(src, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(outside, []);
});
