/**
 * The import direction between src/'s layers, checked on the sources themselves against the table `layers` of
 * eslint.config.js: every static, type-only and literal dynamic import (as TypeScript's pre-processor lists
 * them), resolved to the file it names, so a path the lint rule's specifier patterns could miss
 * (`./../../kernel/x.ts`, `import("../pd/x.ts")`) is caught here.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import ts from "typescript";

interface Row {
  readonly imports: readonly string[];
  readonly node?: boolean;
  readonly packages?: readonly string[];
}

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
// A URL, not a literal specifier: the config is plain JavaScript outside the type-checked project.
const configUrl = pathToFileURL(join(root, "eslint.config.js")).href;
const { layers } = (await import(configUrl)) as { layers: Readonly<Record<string, Row>> };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier `file` imports. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
}

/** The table row a file of src/ belongs to: its top directory, "errors" for src/errors.ts, "entry" for the other src/*.ts. */
function layerOf(file: string): string {
  const parts = relative(src, file).split(sep);
  if (parts.length > 1) return parts[0]!;
  return parts[0] === "errors.ts" ? "errors" : "entry";
}

const files = sourceFiles(src);

test("the table has a row for every directory of src/ and for no other, and the lint rule's globs reach every file", () => {
  const dirs = new Set(files.map(layerOf).filter((l) => l !== "entry" && l !== "errors"));
  assert.deepEqual([...dirs].sort(), Object.keys(layers).filter((l) => l !== "errors").sort());
  // eslint.config.js writes one block per depth, for files one to three directories below src/.
  const deepest = Math.max(...files.map((f) => relative(src, f).split(sep).length - 1));
  assert.ok(deepest <= 3, `a file ${deepest} directories below src/: extend the depths in eslint.config.js`);
  for (const [layer, row] of Object.entries(layers)) {
    for (const dep of row.imports) assert.ok(dep in layers && dep !== "errors", `${layer} lists '${dep}', which is no layer`);
  }
});

test("the table has no cycle: the layers form one direction", () => {
  const state = new Map<string, "visiting" | "done">();
  const visit = (layer: string, path: readonly string[]): void => {
    if (state.get(layer) === "done") return;
    assert.notEqual(state.get(layer), "visiting", `cycle: ${[...path, layer].join(" -> ")}`);
    state.set(layer, "visiting");
    for (const dep of layers[layer]!.imports) visit(dep, [...path, layer]);
    state.set(layer, "done");
  };
  for (const layer of Object.keys(layers)) visit(layer, []);
  assert.equal(state.size, Object.keys(layers).length);
});

/** Why `layers` refuses `spec` imported by `file` (a path in src/), or undefined if its row allows it. */
function refusal(file: string, spec: string): string | undefined {
  const layer = layerOf(file);
  const where = relative(root, file);
  if (spec.startsWith(".")) {
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(src + sep)) return `${where} imports ${spec}, outside src/`;
    const to = layerOf(target);
    if (to === layer || layer === "entry") return undefined;
    const allowed = to === "errors" ? layer !== "errors" : layers[layer]!.imports.includes(to);
    return allowed ? undefined : `${where} (${layer}) imports ${spec} (${to})`;
  }
  if (layer === "entry") return `${where} (an entry module) imports ${spec}: the entry modules only re-export src/`;
  const row = layers[layer]!;
  if (spec.startsWith("node:")) return row.node === true ? undefined : `${where} (${layer}) imports the Node module ${spec}`;
  const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
  return (row.packages ?? []).includes(pkg) ? undefined : `${where} (${layer}) imports the package ${spec}`;
}

test("every import of src/ is one its layer's row allows (protocol: none, not even a Node type; kernel: never pd)", () => {
  assert.ok(files.length > 50, "src/ has its modules");
  const refused: string[] = [];
  let relativeImports = 0;
  for (const file of files) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) {
        relativeImports++;
        assert.ok(existsSync(resolve(dirname(file), spec)), `${relative(root, file)} imports ${spec}, which does not exist`);
      }
      const why = refusal(file, spec);
      if (why !== undefined) refused.push(why);
    }
  }
  assert.ok(relativeImports > 200, "the scan sees the imports");
  assert.deepEqual(refused, []);
});

test("the check refuses what the table forbids, however the path is spelt, and allows what it lists", () => {
  const at = (path: string): string => join(src, ...path.split("/"));
  // The pre-processor sees type-only imports and literal dynamic imports.
  const seen = ts.preProcessFile('import type { MessagePort } from "node:worker_threads";\nawait import("../pd/context.ts");', true, true).importedFiles;
  assert.deepEqual(seen.map((f) => f.fileName), ["node:worker_threads", "../pd/context.ts"]);
  const refused: [string, string][] = [
    ["protocol/control.ts", "node:worker_threads"],
    ["protocol/control.ts", "../shm/wait.ts"],
    ["kernel/worker-system.ts", "../pd/context.ts"],
    ["kernel/worker-system.ts", "./../../src/pd/context.ts"],
    ["kernel/worker-system.ts", "../isokit.ts"],
    ["kernel/worker-system.ts", "ses"],
    ["ipc/async/wait.ts", "../../kernel/plan.ts"],
    ["shm/wait.ts", "../../package.json"],
    ["errors.ts", "./protocol/layout.ts"],
    ["isokit.ts", "node:fs"],
  ];
  for (const [file, spec] of refused) assert.notEqual(refusal(at(file), spec), undefined, `${file} importing ${spec}`);
  const allowed: [string, string][] = [
    ["protocol/control.ts", "../errors.ts"],
    ["protocol/control.ts", "./trace.ts"],
    ["ipc/async/wait.ts", "../client.ts"],
    ["ipc/async/wait.ts", "../../shm/wait.ts"],
    ["boot/in-process.ts", "../pd/context.ts"],
    ["cli/kernel.ts", "tsx/esm/api"],
    ["isokit.ts", "./boot/boot.ts"],
  ];
  for (const [file, spec] of allowed) assert.equal(refusal(at(file), spec), undefined, `${file} importing ${spec}`);
});
