// Worker mode compiles each program once in the kernel (kernel/loader.ts) and the workers load JavaScript.
// Programs are written to a fresh temporary directory per test, so the loader's per-process cache never
// holds them from an earlier test and each build count starts from a program nobody has built.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { Worker } from "node:worker_threads";
import { boot, IpcError, type BootOptions, type SystemDescription } from "../src/index.ts";
import { confinedSes } from "../src/kernel/code-cache.ts";
import { LOCKDOWN_OPTIONS, sesScriptSource } from "../src/protocol/confinement.ts";
import { cacheDirectory, loaderStats } from "../src/kernel/loader.ts";

const src = fileURLToPath(new URL("../src/", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` into a new temporary directory; returns its path. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "isokit-loader-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A program that prints `expression` in init(), importing isokit by the absolute path of src/index.ts. */
function printer(expression: string, imports = ""): string {
  return `import { protectionDomain, debugPrintln } from ${JSON.stringify(join(src, "index.ts"))};\n${imports}\nexport default protectionDomain({ init() { debugPrintln(String(${expression})); }, notified() {} });\n`;
}

/** Boots one PD per program (workers mode; PD i is `pd<i>`), returns each PD's output once the system is idle. */
async function outputs(dir: string, programs: readonly string[], options: BootOptions = {}): Promise<string[][]> {
  const lines = programs.map(() => [] as string[]);
  const description: SystemDescription = { protectionDomains: programs.map((program, i) => ({ name: `pd${i}`, priority: i, program })), channels: [] };
  const system = await boot(description, { mode: "workers", baseDir: dir, onOutput: (e) => lines[Number(e.pd.slice(2))]!.push(e.text), ...options });
  try {
    await system.whenIdle();
    assert.deepEqual(system.faults, []);
  } finally {
    await system.shutdown();
  }
  return lines;
}

/**
 * In a fresh worker: ses's file at `path` loaded as pd/confine.ts loads it, lockdown() with the confined options,
 * then one line per object and property reachable from a new compartment's globalThis and from Compartment,
 * harden and assert: prototype, frozen, extensible, typeof, a function's name and length and whether its source
 * reads as native code, each property's kind and attributes, primitive values. Not ses's own source text.
 */
async function lockedDownShape(path: string): Promise<string[]> {
  const code = `
    const { readFileSync } = require("node:fs");
    const { Script } = require("node:vm");
    const { workerData, parentPort } = require("node:worker_threads");
    const { path, source, options } = workerData;
    new Script(source, { filename: path }).runInThisContext()({}, undefined, { exports: {} }, path, "");
    lockdown(options);
    const lines = [];
    const seen = new Map();
    const walk = (value, at) => {
      if ((typeof value !== "object" && typeof value !== "function") || value === null) {
        lines.push(at + " = " + typeof value + " " + (typeof value === "symbol" ? value.description : String(value)));
        return;
      }
      if (seen.has(value)) return void lines.push(at + " is " + seen.get(value));
      seen.set(value, at);
      let line = at + ": " + typeof value + " frozen=" + Object.isFrozen(value) + " extensible=" + Object.isExtensible(value);
      if (typeof value === "function") line += " name=" + String(value.name) + " length=" + value.length + " native=" + Function.prototype.toString.call(value).includes("[native code]");
      lines.push(line);
      walk(Object.getPrototypeOf(value), at + ".[[Prototype]]");
      for (const key of Reflect.ownKeys(value)) {
        const d = Reflect.getOwnPropertyDescriptor(value, key);
        const name = at + "." + String(key);
        lines.push(name + " " + ("value" in d ? "data writable=" + d.writable : "accessor") + " enumerable=" + d.enumerable + " configurable=" + d.configurable);
        if ("value" in d) walk(d.value, name);
        else { walk(d.get, name + "[get]"); walk(d.set, name + "[set]"); }
      }
    };
    walk(new Compartment({ __options__: true, globals: {}, name: "shape" }).globalThis, "globalThis");
    walk(Compartment, "Compartment");
    walk(harden, "harden");
    walk(assert, "assert");
    parentPort.postMessage(lines);
  `;
  const worker = new Worker(code, { eval: true, workerData: { path, source: sesScriptSource(readFileSync(path, "utf8")), options: { ...LOCKDOWN_OPTIONS } } });
  try {
    return await new Promise<string[]>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe("programs compiled by the kernel", () => {
  test("a TypeScript program and a .mjs program boot", async () => {
    const dir = fixture({
      "typed.ts": printer("answer", "const answer: number = 6 * 7;"),
      "plain.mjs": printer('"plain"'),
    });
    assert.deepEqual(await outputs(dir, ["typed.ts", "plain.mjs"]), [["42"], ["plain"]]);
  });

  test("a program importing isokit by two paths shares one runtime with the worker", async () => {
    // index.ts by absolute path (in printer), internal.ts by a relative one: debugPrintln from either needs the
    // current PD that the worker's runtime set in pd/context.ts, so a second copy of the runtime would throw.
    const dir = fixture({});
    const internal = relative(dir, join(src, "internal.ts")).replaceAll("\\", "/");
    writeFileSync(
      join(dir, "two-paths.ts"),
      `import { protectionDomain } from ${JSON.stringify(join(src, "index.ts"))};\nimport * as internal from ${JSON.stringify(internal)};\nimport { debugPrintln } from ${JSON.stringify(join(src, "index.ts"))};\n` +
        `export default protectionDomain({ init() { debugPrintln(typeof internal === "object" ? "shared" : "?"); }, notified() {} });\n`,
    );
    // The same module reached through internal.ts must be the same object as through index.ts.
    writeFileSync(
      join(dir, "same-module.ts"),
      `import * as index from ${JSON.stringify(join(src, "index.ts"))};\nimport * as internal from ${JSON.stringify(internal)};\n` +
        `export default index.protectionDomain({ init() { index.debugPrintln(String(Object.entries(internal).some(([k, v]) => k in index && (index as Record<string, unknown>)[k] === v))); }, notified() {} });\n`,
    );
    // Trusted: isokit/internal is out of a confined program's reach.
    assert.deepEqual(await outputs(dir, ["two-paths.ts", "same-module.ts"], { trusted: ["pd0", "pd1"] }), [["shared"], ["true"]]);
  });

  test("a program reads a file relative to its own import.meta.url", async () => {
    const dir = fixture({
      "data.txt": "next to the program",
      "reader.ts": printer('readFileSync(new URL("./data.txt", import.meta.url), "utf8")', 'import { readFileSync } from "node:fs";'),
    });
    // Trusted: node:fs.
    assert.deepEqual(await outputs(dir, ["reader.ts"], { trusted: ["pd0"] }), [["next to the program"]]);
  });

  test("a program that does not compile fails the boot with InvalidSystem naming its file and line", async () => {
    const dir = fixture({ "broken.ts": 'import { protectionDomain } from "node:fs";\n\nconst x: number = ;\nexport default x;\n' });
    await assert.rejects(
      boot({ protectionDomains: [{ name: "b", program: "broken.ts" }], channels: [] }, { mode: "workers", baseDir: dir }),
      (error: unknown) =>
        error instanceof IpcError &&
        error.code === "InvalidSystem" &&
        error.pd === "b" &&
        /^boot: PD 'b' failed to load: .*broken\.ts:3:\d+: /.test(error.message),
    );
  });

  test("a stack trace in a PD names the program's own file and line (source maps)", async () => {
    // Line 3 of the program makes the Error; what the worker runs is the compiled bundle.
    const dir = fixture({
      "tracer.ts": `import { protectionDomain, debugPrintln } from ${JSON.stringify(join(src, "index.ts"))};\nexport default protectionDomain({ init() {\n  const stack = new Error("here").stack ?? "";\n  debugPrintln(stack.split("\\n")[1] ?? ""); }, notified() {} });\n`,
    });
    // Trusted: a confined program is evaluated in its compartment, whose frames name the compiled bundle's lines
    // (docs/confinement.md, what remains).
    const [[frame]] = (await outputs(dir, ["tracer.ts"], { trusted: ["pd0"] })) as [[string]];
    assert.match(frame, /tracer\.ts:3:\d+/);
  });

  test("the same program used by 10 PDs is compiled once, and again only when it changes", async () => {
    const dir = fixture({ "same.ts": printer('"up"') });
    const ten = Array.from({ length: 10 }, () => "same.ts");
    const before = loaderStats().builds;
    assert.deepEqual(await outputs(dir, ten), ten.map(() => ["up"]));
    assert.equal(loaderStats().builds - before, 1);
    await outputs(dir, ten);
    assert.equal(loaderStats().builds - before, 1, "a second boot reuses the build");
    const later = new Date(Date.now() + 10_000);
    utimesSync(join(dir, "same.ts"), later, later);
    await outputs(dir, ["same.ts"]);
    assert.equal(loaderStats().builds - before, 2, "a changed program is built again");
  });

  test("isokit by the package name, a subpath or a path to src/: one runtime, trusted or confined", async () => {
    const dir = fixture({
      "names.ts":
        `import * as byName from "isokit";\nimport * as microkit from "isokit/microkit";\nimport * as byPath from ${JSON.stringify(join(src, "index.ts"))};\n` +
        `export default byName.protectionDomain({ init() { byPath.debugPrintln([byName.getMr === byPath.getMr, microkit.Channel === byPath.Channel].join(" ")); }, notified() {} });\n`,
    });
    // Trusted: pd1, so that the same program is seen to get one runtime both confined (pd0) and trusted (pd1).
    assert.deepEqual(await outputs(dir, ["names.ts", "names.ts"], { trusted: ["pd1"] }), [["true true"], ["true true"]]);
  });

  test("a confined program's boot and loadSystemFile refuse with PermissionDenied (its isokit carries no kernel)", async () => {
    const dir = fixture({
      "booter.ts": printer(
        "[boot, loadSystemFile].map((f) => { try { f(); return 'returned'; } catch (e) { return isIpcError(e) ? e.code : 'other'; } }).join(' ')",
        'import { boot, loadSystemFile, isIpcError } from "isokit";',
      ),
    });
    assert.deepEqual(await outputs(dir, ["booter.ts"]), [["PermissionDenied PermissionDenied"]]);
  });

  test("a confined program may import the packages the boot allows, bundled into its compartment, and no others", async () => {
    // In the repository, so that the package resolves from the repository's node_modules.
    const dir = mkdtempSync(join(src, "..", ".loader-test-"));
    dirs.push(dir);
    writeFileSync(join(dir, "colors.ts"), printer('typeof pc.red("x")', 'import pc from "picocolors";'));
    assert.deepEqual(await outputs(dir, ["colors.ts"], { packages: ["picocolors"] }), [["string"]]);
    await assert.rejects(
      outputs(dir, ["colors.ts"]),
      (error: unknown) => error instanceof IpcError && error.code === "InvalidSystem" && /colors\.ts:2:\d+: confined PD: package 'picocolors' is not allowed/.test(error.message),
    );
  });

  test("a confined program's imports are refused at their file:line:col: a Node built-in, an internal module, isokit/internal", async () => {
    const dir = fixture({
      "builtin.ts": printer("1", 'import { cpus } from "os";\nvoid cpus;'),
      "internal.ts": printer("1", `import { IpcBuffer } from "isokit/internal";\nvoid IpcBuffer;`),
      "deep.ts": printer("1", `import { currentPd } from ${JSON.stringify(join(src, "pd", "context.ts"))};\nvoid currentPd;`),
    });
    const refusal = async (program: string): Promise<string> => {
      try {
        await outputs(dir, [program]);
        return "loaded";
      } catch (error) {
        return error instanceof IpcError ? error.message.replace(/^boot: PD 'pd0' failed to load: \S*[\\/]/, "") : String(error);
      }
    };
    assert.match(await refusal("builtin.ts"), /^builtin\.ts:2:\d+: confined PD: 'os' is a Node built-in/);
    assert.match(await refusal("internal.ts"), /^internal\.ts:2:\d+: confined PD: 'isokit\/internal' \(isokit\/internal\) is the runtime's own layers/);
    assert.match(await refusal("deep.ts"), /^deep\.ts:2:\d+: confined PD: '.*context\.ts' is one of isokit's internal modules/);
  });

  test("a confined program gets the API names it reads, and all of a module it reads other than by name", async () => {
    const dir = fixture({
      "named.ts": printer("typeof encodeValue", 'import { encodeValue } from "isokit";'),
      // Read by a computed name: the loader cannot tell which, so the program gets the whole module.
      "computed.ts": printer('[typeof (isokit as Record<string, unknown>)["encode" + "Value"], typeof isokit.protectionDomain].join(" ")', 'import * as isokit from "isokit";'),
      // Passed on whole: the same.
      "passed.ts": printer("Object.keys(ns(isokit)).includes(\"decodeValue\")", 'import * as isokit from "isokit";\nconst ns = (m: object): object => m;'),
    });
    assert.deepEqual(await outputs(dir, ["named.ts", "computed.ts", "passed.ts"]), [["function"], ["function function"], ["true"]]);
  });

  test("the kernel's code cache of ses is one V8 accepts for the source a confined worker compiles", async () => {
    const { path, codeCache } = await confinedSes(cacheDirectory());
    assert.ok(codeCache !== undefined && codeCache.byteLength > 0);
    assert.equal(new Script(sesScriptSource(readFileSync(path, "utf8")), { filename: path, cachedData: codeCache }).cachedDataRejected, false);
  });

  test("ses as the kernel bundles it locks a worker down as the package's own build does, property by property", async () => {
    const { path } = await confinedSes(cacheDirectory());
    const [bundled, packaged] = await Promise.all([lockedDownShape(path), lockedDownShape(createRequire(import.meta.url).resolve("ses"))]);
    assert.ok(packaged.length > 3000, `${packaged.length} lines`);
    assert.deepEqual(bundled, packaged);
  });
});
