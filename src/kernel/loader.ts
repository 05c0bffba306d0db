/**
 * Compiles PD programs for worker mode, once per program, in the kernel's thread.
 *
 * Why: a worker that registers tsx's module hooks pays for them itself (on Node 20 a hooks thread per worker,
 * and every TypeScript file transformed again in each), which made a PD cost ~4x a bare worker in boot time
 * and RSS. Instead the kernel bundles each distinct program with esbuild into plain ESM on disk and every
 * worker of that program imports the same JavaScript.
 *
 * One build has two entry points, the runtime's worker entry (pd/worker-main) and the program, with code
 * splitting: whatever they share (the isokit modules a program imports, by whatever relative path) lands in
 * one chunk, so the worker holds exactly one copy of the runtime and the program sees the runtime's module
 * state (pd/context.ts's current PD). The program stays a separate entry so the runtime imports it itself and
 * can report a program that throws while loading as a `load` fault, as before.
 *
 * Packages under node_modules are not bundled: they stay external as the absolute file URL esbuild resolved,
 * so Node loads them exactly as a direct import would (native addons, files they read next to themselves).
 * Each bundled file's `import.meta.url` (and `.dirname`, `.filename`) is replaced by that file's own value,
 * so a program that reads a file next to itself still finds it. Inline source maps keep stack traces naming
 * the program's files. That is a trusted program's build: it runs with the worker's whole authority.
 *
 * A confined program (every PD not listed trusted; see pd/confine.ts for how the worker runs it) is built
 * apart from the runtime, as one CommonJS bundle of the program's own files and the packages the system allows
 * by name, which the worker evaluates inside a Hardened JavaScript compartment. Its imports of isokit (by the
 * package name or by a path to one of package.json's "exports" entries in src/ or dist/) stay
 * `require("isokit…")` calls that the worker answers with its hardened API; every `import()` is turned into
 * such a call too. Node built-ins, isokit's internal modules and packages not allowed are refused at build
 * time, each at the `file:line:col` of its import. The runtime is built apart, as one CommonJS script of the
 * worker's loop and the API modules the program requires, cut to the names it reads (confinedRuntimeEntry,
 * usedApi; one build per distinct usage, not per program), so the API the program gets is the runtime's own.
 *
 * Either way isokit's modules map to the tree the kernel runs from (src/ from sources, dist/ when built),
 * whatever path or package name the program uses: one copy of the runtime per worker (issue #15).
 *
 * Output: `<cache>/<hash of the output>/{runtime,program,chunk-*}.js` (a confined runtime: `runtime.cjs` and
 * its `runtime.cjs.map`), content-addressed so two processes
 * building the same program write the same directory, and a directory once complete is never rewritten (a
 * worker of another process may be importing it). The cache root is `node_modules/.cache/isokit` of the
 * package, else the OS temporary directory.
 */

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BuildFailure, BuildOptions, Loader, Message, Plugin } from "esbuild";

/** What a worker imports: the compiled runtime entry and the compiled program, as file URLs. */
export interface CompiledProgram {
  readonly runtimeUrl: string;
  /** Trusted: an ES module importing the runtime's chunks. Confined: a CommonJS bundle the worker evaluates in
   * a compartment (pd/confine.ts), never imports. */
  readonly moduleUrl: string;
  /** Confined: the runtime's module for each specifier the program may import (`isokit`, `isokit/<sub>`). */
  readonly api?: Readonly<Record<string, string>>;
}

/** How to compile the programs of one `compilePrograms` call. */
export interface CompileOptions {
  /** Confined (default false here; the kernel passes true for every PD not listed trusted): see the file's head. */
  readonly confined?: boolean;
  /** Packages (by name) a confined program may import; bundled into it, so they run confined too. */
  readonly packages?: readonly string[];
}

/** A program that does not compile: `message` names the file, line and column of the first error. */
export class ProgramCompileError extends Error {
  override readonly name = "ProgramCompileError";
}

interface CacheEntry {
  /** Each entry point's output file, by entry name, as a file URL. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Every bundled source file and its mtime at build time: the entry is stale when any of them changed. */
  readonly inputs: ReadonlyMap<string, number>;
}

/** Per process: every kernel of this process shares the builds (tests and benches boot many systems). */
const cache = new Map<string, CacheEntry>();
/** Builds in flight, so two boots of the same program at once build it once. */
const building = new Map<string, Promise<CacheEntry>>();
let builds = 0;

/** How many program builds this process ran with esbuild (for tests: the same program used by 10 PDs is built
 * once; a build loaded from the on-disk manifest of an earlier process, or the confined runtime, does not count). */
export function loaderStats(): { readonly builds: number } {
  return { builds };
}

/**
 * Compiles each distinct program of `programUrls` (in parallel) against the runtime entry at `runtimePath`.
 * Resolves to one result per distinct URL: the compiled program, or the error that kept it from compiling.
 */
export async function compilePrograms(
  programUrls: readonly string[],
  runtimePath: string,
  options: CompileOptions = {},
): Promise<Map<string, CompiledProgram | Error>> {
  const distinct = [...new Set(programUrls)];
  const results = await Promise.all(
    distinct.map(async (url) => {
      try {
        return await compileProgram(fileURLToPath(url), runtimePath, options);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    }),
  );
  return new Map(distinct.map((url, i) => [url, results[i]!]));
}

/** Which PDs run trusted, and what confined programs may import besides isokit (boot options). */
export interface Confinement {
  /** PDs whose programs run with the worker's whole authority (Node's APIs, the runtime's internals). */
  readonly trusted: ReadonlySet<string>;
  /** Packages, by name, confined programs may import; bundled into each, so they run confined too. */
  readonly packages: readonly string[];
}

/** Compiles the program of every PD, confined unless `confinement` lists it trusted. Results by PD name. */
export async function compilePds(
  pds: readonly { readonly name: string; readonly programUrl: string }[],
  runtimePath: string,
  confinement: Confinement,
): Promise<Map<string, CompiledProgram | Error>> {
  const trusted = pds.filter((pd) => confinement.trusted.has(pd.name));
  const confined = pds.filter((pd) => !confinement.trusted.has(pd.name));
  const [trustedBuilds, confinedBuilds] = await Promise.all([
    compilePrograms(trusted.map((pd) => pd.programUrl), runtimePath),
    compilePrograms(confined.map((pd) => pd.programUrl), runtimePath, { confined: true, packages: confinement.packages }),
  ]);
  return new Map(pds.map((pd) => [pd.name, (confinement.trusted.has(pd.name) ? trustedBuilds : confinedBuilds).get(pd.programUrl)!]));
}

async function compileProgram(programPath: string, runtimePath: string, options: CompileOptions): Promise<CompiledProgram> {
  const tree = runtimeTree(runtimePath);
  if (options.confined !== true) {
    const outputs = await cached(`${runtimePath}\0${programPath}`, () =>
      build({ entryPoints: { runtime: runtimePath, program: programPath }, format: "esm", splitting: true, inlineMapsOf: "program" }, { tree, confined: false, packages: [] }),
    );
    return { runtimeUrl: outputs["runtime"]!, moduleUrl: outputs["program"]! };
  }
  const packages = [...new Set(options.packages ?? [])].sort();
  const api = confinedApi(tree);
  const programBuild = cached(`${runtimePath}\0confined\0${packages.join(",")}\0${programPath}`, () =>
    build(
      // Every import() becomes a require() of the program's own, so a computed one meets the same refusal.
      { entryPoints: { program: programPath }, format: "cjs", splitting: false, supported: { "dynamic-import": false } },
      { tree, confined: true, packages },
    ),
  );
  const program = await programBuild;
  // Only the API the program uses: the worker loads and hardens what it is given, and `isokit` alone carries
  // codecs, layouts and streams a PD that never uses them pays for (time and heap). One runtime build serves
  // every program that uses the same names.
  const used = await usedApi(program["program"]!, api);
  const usage = [...used].map(([spec, names]) => `${spec}=${names === EVERY_NAME ? "*" : names.join(",")}`).join(";");
  const runtimeBuild = cached(`${runtimePath}\0confined-runtime-cjs\0${usage}`, () =>
    build(
      {
        entryPoints: { runtime: CONFINED_RUNTIME },
        format: "cjs",
        splitting: false,
        outExtension: { ".js": ".cjs" },
        sourcemap: "linked",
        // The file is one expression, the CommonJS function of the bundle: compiled verbatim (and its code cache
        // made) from the same text by the kernel and by the worker.
        banner: { js: COMMONJS_HEAD },
        footer: { js: "})" },
      },
      { tree, confined: false, packages: [], bundlePackages: true },
      false,
      confinedRuntimeEntry(runtimePath, api, used),
    ),
  );
  const runtime = await runtimeBuild;
  return {
    runtimeUrl: runtime["runtime"]!,
    moduleUrl: program["program"]!,
    // Each module is a namespace of the one runtime script, named by the fragment (see confinedRuntimeEntry).
    api: Object.fromEntries([...used.keys()].map((spec) => [spec, `${runtime["runtime"]!}#${spec}`])),
  };
}

/**
 * ses as a confined worker loads it (pd/confine.ts): one CommonJS script that esbuild bundles from the package's
 * own ES modules (its "import" entry, index.js, and the @endo packages it imports), built once and kept like a
 * program's build (rebuilt when one of those files changes). Resolves to the script's path.
 *
 * Why not the package's own one-file build (dist/ses.cjs, or ses.umd.min.js minified): that keeps every module's
 * live bindings as cells (three frozen closures per exported name, made as ses evaluates), and its names hold a
 * non-Latin-1 character, so V8 keeps its source as a two-byte string. Bundled by esbuild, the modules share one
 * scope: measured in fresh workers (20 of each, alternating, medians, each with the kernel's code cache of its
 * own file), reading, compiling and evaluating it took 0.3 + 1.2 + 3.7 ms of CPU instead of 0.8 + 2.3 + 6.9, its
 * source is 162 K one-byte characters instead of 237 K two-byte ones (~310 KB less heap per PD), and its code
 * cache is 163 KB instead of 441. What lockdown makes is the same: every intrinsic reachable from a compartment's globalThis, and
 * Compartment, harden and assert, has the same prototype, frozenness, property names and descriptors, function
 * names and lengths as with dist/ses.cjs (checked property by property; only the source text of ses's own
 * functions differs). `keepNames`: esbuild renames a function whose name clashes in the shared scope (ses's tamed
 * `function Date`, `function Error`, ...); their `name` stays as written. Strict, as the modules were.
 */
export function sesBundle(): Promise<string> {
  // Looked up once per process (checking a build's ~100 input files costs ~1.5 ms a boot); each later boot only
  // dates its directory as used, so that prune() leaves it to the workers this process still starts.
  if (sesScript !== undefined) {
    void sesScript.then((path) => utimes(dirname(path), new Date(), new Date())).catch(() => undefined);
    return sesScript;
  }
  const entry = join(dirname(createRequire(import.meta.url).resolve("ses/package.json")), "index.js");
  sesScript = cached(`ses\0${entry}`, () =>
    build(
      { entryPoints: { ses: entry }, format: "cjs", splitting: false, outExtension: { ".js": ".cjs" }, sourcemap: false, keepNames: true, minifyWhitespace: true, banner: { js: '"use strict";' } },
      { tree: runtimeTree(entry), confined: false, packages: [], bundlePackages: true },
      false,
    ),
  ).then(
    (outputs) => fileURLToPath(outputs["ses"]!),
    (error: unknown) => {
      sesScript = undefined; // the next boot tries again
      throw error;
    },
  );
  return sesScript;
}

let sesScript: Promise<string> | undefined;

/** The entry point name of the confined runtime's build: a module made by confinedRuntimeEntry, not a file. */
const CONFINED_RUNTIME = "isokit:confined-runtime";
/** The parameters Node gives a CommonJS module; bin/pd-worker.cjs passes them in this order. */
const COMMONJS_HEAD = "(function (exports, require, module, __filename, __dirname) {";
const VIRTUAL = "isokit-virtual";

/**
 * The confined runtime: one CommonJS script of the worker entry, every API module a confined program may be
 * given, and the packages they import. Why one script and not ES modules: a confined worker loaded the runtime's
 * ES modules (runtime, API entries, ~20 chunks, msgpackr's and capnp-es's files, each with its source map) in
 * ~50 ms; one script loads in ~15, and V8 can compile a script from a code cache (kernel/code-cache.ts), which
 * Node 20 offers for no ES module: ~5 ms. The file is the bundle wrapped as a CommonJS function (COMMONJS_HEAD);
 * bin/pd-worker.cjs compiles it with the kernel's cache and calls it as Node would call a module; its
 * `api` export holds each API module's namespace by specifier, which the worker hardens for the program
 * (pd/confine.ts). The script is the runtime's own code, running with the worker's authority before lockdown.
 * Node applies no source map to a script it did not load itself: the runtime's frames in a confined PD's stacks
 * name runtime.cjs, whose map is the runtime.cjs.map beside it (the program's frames name its bundle anyway).
 */
function confinedRuntimeEntry(runtimePath: string, api: ReadonlyMap<string, string>, used: ReadonlyMap<string, readonly string[] | typeof EVERY_NAME>): Plugin {
  const specs = [...used];
  // A module the program uses by name only is an object of those names: esbuild then drops the modules nothing
  // else needs (isokit's modules are side-effect free, programPlugin). A name the module lacks reads undefined.
  const value = (names: readonly string[] | typeof EVERY_NAME, i: number): string =>
    names === EVERY_NAME ? `api${i}` : `{ ${names.map((name) => `${name}: api${i}.${name}`).join(", ")} }`;
  const contents = [
    `export { runWorker } from ${JSON.stringify(runtimePath)};`,
    ...specs.map(([spec], i) => `import * as api${i} from ${JSON.stringify(api.get(spec)!)};`),
    `export const api = { ${specs.map(([spec, names], i) => `${JSON.stringify(spec)}: ${value(names, i)}`).join(", ")} };`,
  ].join("\n");
  return {
    name: "isokit-confined-runtime",
    setup(b) {
      b.onResolve({ filter: /^isokit:confined-runtime$/ }, () => ({ path: CONFINED_RUNTIME, namespace: VIRTUAL }));
      b.onLoad({ filter: /.*/, namespace: VIRTUAL }, () => ({ contents, loader: "js", resolveDir: packageRoot }));
    },
  };
}

/** A program that uses an API module other than by `.name`: it gets all of the module. */
const EVERY_NAME = "*";

/**
 * The isokit specifiers a confined bundle requires, each with the names it reads of it. The plugin made each
 * allowed import external as `require("isokit...")`, its specifier a literal, which esbuild assigns to a variable
 * (`var import_x = require("isokit")`, or `__toESM(...)` of it) and reads as `import_x.name`. Anything else — a
 * require it does not assign, a variable used other than by `.name` (passed on, indexed), `default`, a require
 * of a computed specifier — and the program gets the whole module (EVERY_NAME), as it did before: reading the
 * bundle wrong can only give it more of the API it may have, never anything else. A computed `import(x)` of an
 * API module the program names nowhere is refused by the compartment's `require`, like any other specifier.
 */
async function usedApi(programUrl: string, api: ReadonlyMap<string, string>): Promise<Map<string, readonly string[] | typeof EVERY_NAME>> {
  const source = await readFile(new URL(programUrl), "utf8");
  const used = new Map<string, Set<string> | typeof EVERY_NAME>();
  const all = /\brequire\("(isokit(?:\/[\w-]+)?)"\)/g;
  const assigned = /\bvar ([A-Za-z_$][\w$]*) = (?:__toESM\()?require\("(isokit(?:\/[\w-]+)?)"\)/g;
  const specs = [...source.matchAll(all)].map((m) => m[1]!).filter((spec) => api.has(spec));
  const variables = [...source.matchAll(assigned)].filter((m) => api.has(m[2]!));
  const computed = /\brequire\((?!")/.test(source);
  const whole = computed || variables.length !== specs.length;
  for (const spec of specs) used.set(spec, whole ? EVERY_NAME : (used.get(spec) ?? new Set()));
  if (whole) return sortedUsage(used);
  for (const [declaration, variable, spec] of variables) {
    let names = used.get(spec!)!;
    for (const use of source.matchAll(new RegExp(`(?<![\\w$.])${variable!.replaceAll("$", "\\$")}(?![\\w$])(\\.([A-Za-z_$][\\w$]*))?`, "g"))) {
      if (names === EVERY_NAME) break;
      if (use.index === source.indexOf(declaration) + 4) continue; // the declaration itself
      const name = use[2];
      if (name === undefined || name === "default" || name === "__proto__") names = EVERY_NAME;
      else names.add(name);
    }
    used.set(spec!, names);
  }
  return sortedUsage(used);
}

function sortedUsage(used: Map<string, Set<string> | typeof EVERY_NAME>): Map<string, readonly string[] | typeof EVERY_NAME> {
  return new Map([...used].map(([spec, names]) => [spec, names === EVERY_NAME ? EVERY_NAME : [...names].sort()]));
}

/** The build of `key`: from this process's cache, the disk's, or esbuild. Resolves to its outputs by entry name. */
async function cached(key: string, make: () => Promise<CacheEntry>): Promise<Readonly<Record<string, string>>> {
  const hit = cache.get(key);
  if (hit !== undefined && (await fresh(hit))) return markUsed(hit);
  let pending = building.get(key);
  if (pending === undefined) {
    pending = fromDisk(key)
      .then((entry) => entry ?? make().then((built) => toDisk(key, built)))
      .finally(() => building.delete(key));
    building.set(key, pending);
  }
  const entry = await pending;
  cache.set(key, entry);
  return markUsed(entry);
}

/**
 * Dates the build's directories now: `prune` never removes a build used in the last YOUNG_MS, so a build made
 * long ago but still in use (by this process, or another `isokit run` reading the same manifest) is not
 * removed under a worker about to import it.
 */
async function markUsed(entry: CacheEntry): Promise<Readonly<Record<string, string>>> {
  const now = new Date();
  const dirs = new Set(Object.values(entry.outputs).map((url) => dirname(fileURLToPath(url))));
  await Promise.all([...dirs].map((dir) => utimes(dir, now, now).catch(() => undefined)));
  return entry.outputs;
}

async function fresh(entry: CacheEntry): Promise<boolean> {
  // Dated first, then looked for: a prune that starts after this sees it young; one that already removed it
  // makes it not fresh (rebuilt).
  await markUsed(entry);
  // The output may have been pruned (see prune) since: then it is not fresh either.
  if (!Object.values(entry.outputs).every((url) => existsSync(fileURLToPath(url)))) return false;
  const checks = await Promise.all(
    [...entry.inputs].map(async ([path, mtime]) => {
      try {
        return (await stat(path)).mtimeMs === mtime;
      } catch {
        return false;
      }
    }),
  );
  return checks.every(Boolean);
}

/**
 * The manifest of the last build of `key` in any process: a new process (each `isokit run`) whose program and
 * its imports have not changed since then loads that build without starting esbuild at all.
 */
async function manifestPath(key: string): Promise<string> {
  return join(await cacheDirectory(), "manifests", `${createHash("sha256").update(key).digest("hex").slice(0, 24)}.json`);
}

interface Manifest {
  readonly outputs: Readonly<Record<string, string>>;
  readonly inputs: readonly (readonly [string, number])[];
}

async function fromDisk(key: string): Promise<CacheEntry | undefined> {
  try {
    const manifest = JSON.parse(await readFile(await manifestPath(key), "utf8")) as Manifest;
    const entry: CacheEntry = { outputs: manifest.outputs, inputs: new Map(manifest.inputs) };
    return (await fresh(entry)) ? entry : undefined;
  } catch {
    // none yet, or unreadable (another process writing it, a different layout): build
    return undefined;
  }
}

async function toDisk(key: string, entry: CacheEntry): Promise<CacheEntry> {
  try {
    const path = await manifestPath(key);
    await mkdir(dirname(path), { recursive: true });
    const manifest: Manifest = { outputs: entry.outputs, inputs: [...entry.inputs] };
    // Written aside and renamed, so a reader never sees half a manifest.
    const staging = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(staging, JSON.stringify(manifest));
    await rename(staging, path);
  } catch {
    // The cache is an optimisation: a process that cannot write it builds again next time.
  }
  return entry;
}

const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
let cacheRoot: Promise<string> | undefined;

/** The directory builds go under: the package's node_modules/.cache/isokit if writable, else the OS's tmp. */
export function cacheDirectory(): Promise<string> {
  cacheRoot ??= (async () => {
    for (const dir of [join(packageRoot, "node_modules", ".cache", "isokit"), join(tmpdir(), "isokit-cache")]) {
      try {
        await mkdir(dir, { recursive: true });
        const probe = join(dir, `.probe-${process.pid}`);
        await writeFile(probe, "");
        await rm(probe, { force: true });
        return dir;
      } catch {
        // not writable (a read-only install): try the next
      }
    }
    throw new Error("isokit: no writable directory for compiled programs (node_modules/.cache/isokit, OS tmpdir)");
  })();
  return cacheRoot;
}

const LOADERS: Readonly<Record<string, Loader>> = {
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".tsx": "tsx",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".jsx": "jsx",
};

const IN_NODE_MODULES = /[\\/]node_modules[\\/]/;

/** The isokit sources the kernel runs from (`src`, TypeScript) or their build (`dist`, JavaScript). */
interface Tree {
  readonly dir: string;
  readonly ext: ".ts" | ".js";
}

function runtimeTree(runtimePath: string): Tree {
  return runtimePath.endsWith(".ts") ? { dir: join(packageRoot, "src"), ext: ".ts" } : { dir: join(packageRoot, "dist"), ext: ".js" };
}

/** The package's public entry modules, from package.json "exports": `isokit` -> `index`, `isokit/x` -> `x`. */
function packageEntries(): ReadonlyMap<string, string> {
  const manifest = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { exports?: Record<string, unknown> };
  return new Map(
    Object.keys(manifest.exports ?? {})
      .filter((key) => key === "." || (key.startsWith("./") && !key.includes("*")))
      .map((key) => [key === "." ? "isokit" : `isokit/${key.slice(2)}`, key === "." ? "index" : key.slice(2)]),
  );
}

/**
 * What a confined program may import of isokit: every entry of "exports" but `isokit/internal`, the layers
 * under the API (raw channel memory, wait primitives, the kernel's registry), which hand out no capability but
 * bypass the runtime's own checks. Spec -> the entry's file in `tree` (entries whose file is missing are left out).
 */
function confinedApi(tree: Tree): ReadonlyMap<string, string> {
  return new Map(
    [...packageEntries()]
      .filter(([spec]) => spec !== "isokit/internal")
      // `isokit` without boot and loadSystemFile, and so without the kernel (src/confined-index.ts).
      .map(([spec, entry]) => [spec, join(tree.dir, (spec === "isokit" ? "confined-index" : entry) + tree.ext)] as const)
      .filter(([, path]) => existsSync(path)),
  );
}

/** The entry spec (`isokit`, `isokit/x`) of a file of either tree (src or dist), if it is one of the package's entries. */
function entrySpecOf(path: string, entries: ReadonlyMap<string, string>): string | undefined {
  for (const root of [join(packageRoot, "src"), join(packageRoot, "dist")]) {
    if (!path.startsWith(root + sep)) continue;
    const entry = path.slice(root.length + 1, path.length - extname(path).length).replaceAll("\\", "/");
    for (const [spec, name] of entries) if (name === entry) return spec;
  }
  return undefined;
}

/** The same module in `tree` (a program importing `dist/x.js` while the kernel runs `src/x.ts`, or the reverse). */
function inTree(path: string, tree: Tree): string | undefined {
  for (const root of [join(packageRoot, "src"), join(packageRoot, "dist")]) {
    if (!path.startsWith(root + sep)) continue;
    const mapped = join(tree.dir, path.slice(root.length + 1, path.length - extname(path).length) + tree.ext);
    return existsSync(mapped) ? mapped : path;
  }
  return undefined;
}

/** `name` or `@scope/name` of a bare specifier; undefined for a path. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || isAbsolute(specifier) || specifier.startsWith("file:")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

interface Resolution {
  readonly tree: Tree;
  readonly confined: boolean;
  /** Trusted code only: bundle the packages it imports instead of leaving them to Node (the confined runtime). */
  readonly bundlePackages?: boolean;
  /** Packages a confined program may import by name. */
  readonly packages: readonly string[];
}

/**
 * Resolves every import of a program. Trusted: node_modules stay external (by absolute URL), isokit's own
 * modules (by the package name or by any path into src/ or dist/) map to the tree the kernel runs from, so the
 * worker holds one copy of the runtime (issue #15). isokit's modules are declared free of side effects (none
 * does anything at load but define what it exports, and none is imported for its effect alone; keep it so): a
 * program that imports `protectionDomain` from `isokit` then loads the runtime and what it uses, not the kernel,
 * the .system parser, msgpackr and capnp-es that the package's entry also exports (~20 ms and ~2 MB of heap a PD). Confined: isokit's entries become `require("isokit...")`
 * of the worker's hardened API, allowed packages are bundled in, and Node built-ins, isokit's internals and
 * other packages are refused, each error located at the import by esbuild.
 */
function programPlugin(how: Resolution): Plugin {
  const entries = packageEntries();
  const allowedSpecs = how.confined ? confinedApi(how.tree) : new Map<string, string>();
  const refuse = (text: string): { errors: { text: string }[] } => ({ errors: [{ text: `confined PD: ${text}` }] });
  return {
    name: "isokit-program",
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        // Our own b.resolve below comes back through this hook: let esbuild resolve that one itself.
        if (args.pluginData === RESOLVING || args.kind === "entry-point") return undefined;
        if (how.confined && (args.path.startsWith("node:") || isBuiltin(args.path))) {
          return refuse(`'${args.path}' is a Node built-in; a confined program holds no ambient authority (boot it with trusted: [its PD] to give it Node's APIs)`);
        }
        let spec = args.path === "isokit" || args.path.startsWith("isokit/") ? args.path : undefined;
        let path: string | undefined;
        if (spec === undefined) {
          const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING });
          if (resolved.errors.length > 0) return { errors: resolved.errors };
          if (resolved.external) return how.confined ? refuse(`'${args.path}' resolves outside the program`) : { path: resolved.path, external: true };
          path = resolved.path;
          spec = IN_NODE_MODULES.test(path) ? undefined : entrySpecOf(path, entries);
        } else if (!entries.has(spec)) {
          return { errors: [{ text: `'${spec}' is not an entry of isokit's package.json "exports" (${[...entries.keys()].join(", ")})` }] };
        }
        if (spec !== undefined) {
          if (!how.confined) return { path: join(how.tree.dir, entries.get(spec)! + how.tree.ext), sideEffects: false };
          if (allowedSpecs.has(spec)) return { path: spec, external: true };
          return refuse(`'${args.path}' (${spec}) is the runtime's own layers; a confined program may import ${[...allowedSpecs.keys()].join(", ")}`);
        }
        path = path!;
        if (IN_NODE_MODULES.test(path)) {
          if (how.bundlePackages === true) {
            // A package's require() of another package (msgpackr's optional native msgpackr-extract) stays a
            // require() at run time, of the file esbuild found (the script may live in the OS's tmpdir).
            if (args.kind === "require-call" && IN_NODE_MODULES.test(args.importer) && packageName(args.path) !== undefined) return { path, external: true };
            return { path };
          }
          if (!how.confined) return { path: pathToFileURL(path).href, external: true };
          // A package the system allowed may use what it depends on: all of it is bundled and runs confined.
          const name = packageName(args.path);
          if (IN_NODE_MODULES.test(args.importer) || (name !== undefined && how.packages.includes(name))) return { path };
          return refuse(`package '${name ?? args.path}' is not allowed (boot option packages: [${JSON.stringify(name ?? args.path)}] allows it, bundled into the compartment)`);
        }
        const internal = inTree(path, how.tree);
        if (internal !== undefined) {
          if (how.confined) return refuse(`'${args.path}' is one of isokit's internal modules; a confined program may import ${[...allowedSpecs.keys()].join(", ")}`);
          return { path: internal, sideEffects: false };
        }
        return { path };
      });
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const loader = LOADERS[extname(args.path)];
        if (loader === undefined) return undefined;
        const source = await readFile(args.path, "utf8");
        const url = pathToFileURL(args.path).href;
        // A whole-token replacement keeps every line where it was, so the source map's lines stay right.
        const contents = source.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, field: string) =>
          JSON.stringify(field === "url" ? url : field === "dirname" ? dirname(args.path) : args.path),
        );
        return { contents, loader, resolveDir: dirname(args.path) };
      });
    },
  };
}

const RESOLVING = Symbol("isokit-resolving");

type BuildShape = Required<Pick<BuildOptions, "format" | "splitting">> &
  Pick<BuildOptions, "supported"> & {
    readonly entryPoints: Record<string, string>;
    readonly outExtension?: { readonly ".js": string };
    /** Default "inline" (Node applies a module's inline map to its stacks); "linked": a .map file beside it. */
    readonly sourcemap?: "linked" | false;
    readonly keepNames?: boolean;
    readonly minifyWhitespace?: boolean;
    readonly banner?: { readonly js: string };
    /**
     * Only this entry keeps its inline map; every other output's goes to a `.map` file beside it, unreferenced.
     * Why: with source maps on, Node decodes and parses the inline map of every module it loads, and the
     * runtime's (~250 KB of JavaScript) took ~8 of a lone trusted PD's ~55 ms to start. The program's frames are
     * what a fault report needs mapped; the runtime's name its chunk files (as a confined PD's name runtime.cjs).
     */
    readonly inlineMapsOf?: string;
    readonly footer?: { readonly js: string };
  };

async function build(shape: BuildShape, how: Resolution, countAsProgram = true, entry?: Plugin): Promise<CacheEntry> {
  const esbuild = await import("esbuild");
  const root = await cacheDirectory();
  // Sources in the inline maps are relative to the output directory: build "into" a sibling of the final
  // directory (same depth under `root`) so the relative paths stay right after the move.
  const outdir = join(root, "out");
  if (countAsProgram) builds++;
  const { inlineMapsOf, ...esbuildShape } = shape;
  const mainEntry = Object.keys(shape.entryPoints)[0]!;
  const ext = shape.outExtension?.[".js"] ?? ".js";
  let result;
  try {
    result = await esbuild.build({
      ...esbuildShape,
      bundle: true,
      platform: "node",
      target: "node20",
      // Only the conditions Node itself applies (esbuild adds "module" by default, which Node does not).
      conditions: [],
      // A confined bundle has no `process`: the one thing bundled packages commonly read of it is this.
      ...(how.confined ? { define: { "process.env.NODE_ENV": '"production"' } } : {}),
      sourcemap: shape.sourcemap ?? "inline",
      // Stacks need the mappings only; the sources are on disk. Without their text a worker's maps are a fraction
      // of the size, and every PD worker holds (and with source maps enabled, parses) its own copy.
      sourcesContent: false,
      outdir,
      entryNames: "[name]",
      chunkNames: "chunk-[hash]",
      write: false,
      metafile: true,
      logLevel: "silent",
      absWorkingDir: packageRoot,
      plugins: [...(entry === undefined ? [] : [entry]), programPlugin(how)],
    });
  } catch (error) {
    throw new ProgramCompileError(describeFailure(error, shape.entryPoints[mainEntry]!), { cause: error });
  }
  const files = inlineMapsOf === undefined ? result.outputFiles.map((file) => ({ path: file.path, contents: file.contents })) : mapsAside(result.outputFiles, join(outdir, `${inlineMapsOf}${ext}`));
  const hash = createHash("sha256");
  for (const file of files) hash.update(relative(outdir, file.path)).update("\0").update(file.contents);
  const final = join(root, hash.digest("hex").slice(0, 24));
  if (!existsSync(join(final, `${mainEntry}${ext}`))) {
    const staging = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await mkdir(staging, { recursive: true });
    await Promise.all(files.map((file) => writeFile(join(staging, relative(outdir, file.path)), file.contents)));
    try {
      await rename(staging, final);
    } catch {
      // Another process (or kernel) wrote the same output first: same content, keep theirs.
      await rm(staging, { recursive: true, force: true });
    }
    await prune(root);
  }
  const inputs = new Map<string, number>();
  await Promise.all(
    Object.keys(result.metafile.inputs).filter((input) => !input.startsWith(`${VIRTUAL}:`)).map(async (input) => {
      const path = isAbsolute(input) ? input : resolve(packageRoot, input);
      inputs.set(path, (await stat(path)).mtimeMs);
    }),
  );
  return { outputs: Object.fromEntries(Object.keys(shape.entryPoints).map((name) => [name, pathToFileURL(join(final, `${name}${ext}`)).href])), inputs };
}

const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\n?$/;

/** `outputs` with the inline source map of each but `keep` moved to `<file>.map` (see BuildShape.inlineMapsOf). */
function mapsAside(outputs: readonly { readonly path: string; readonly text: string; readonly contents: Uint8Array }[], keep: string): { path: string; contents: Uint8Array }[] {
  return outputs.flatMap((file) => {
    const map = file.path === keep ? null : INLINE_MAP.exec(file.text);
    if (map === null) return [{ path: file.path, contents: file.contents }];
    return [
      { path: file.path, contents: Buffer.from(`${file.text.slice(0, map.index)}\n`) },
      { path: `${file.path}.map`, contents: Buffer.from(map[1]!, "base64") },
    ];
  });
}

/** Builds kept besides the young ones: every edit of a program (or of isokit's sources) makes a new one. */
const KEEP_BUILDS = 64;
/** A build this young may be about to be imported by a worker starting now: never removed. */
const YOUNG_MS = 10 * 60_000;

/** Removes the oldest builds beyond KEEP_BUILDS; best effort (another process may be pruning too). */
async function prune(root: string): Promise<void> {
  try {
    const names = (await readdir(root)).filter((name) => /^[0-9a-f]{24}$/.test(name));
    if (names.length <= KEEP_BUILDS) return;
    const dated = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(root, name))).mtimeMs })));
    dated.sort((a, b) => b.mtime - a.mtime);
    const now = Date.now();
    await Promise.all(
      dated.slice(KEEP_BUILDS).filter((d) => now - d.mtime > YOUNG_MS).map((d) => rm(join(root, d.name), { recursive: true, force: true })),
    );
  } catch {
    // a directory vanished under us: nothing to do
  }
}

/** `file:line:column: text` of the first error (the one a reader fixes first), and how many more there are. */
function describeFailure(error: unknown, programPath: string): string {
  const errors: Message[] = isBuildFailure(error) ? error.errors : [];
  const first = errors[0];
  if (first === undefined) return `${programPath}: ${error instanceof Error ? error.message : String(error)}`;
  const where = first.location === null ? programPath : `${resolve(packageRoot, first.location.file)}:${first.location.line}:${first.location.column + 1}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})` : "";
  return `${where}: ${first.text}${more}`;
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<BuildFailure>).errors);
}
