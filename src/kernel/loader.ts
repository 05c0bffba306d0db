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
 * the program's files.
 *
 * Output: `<cache>/<hash of the output>/{runtime,program,chunk-*}.js`, content-addressed so two processes
 * building the same program write the same directory, and a directory once complete is never rewritten (a
 * worker of another process may be importing it). The cache root is `node_modules/.cache/isokit` of the
 * package, else the OS temporary directory.
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BuildFailure, Loader, Message, Plugin } from "esbuild";

/** What a worker imports: the compiled runtime entry and the compiled program, as file URLs. */
export interface CompiledProgram {
  readonly runtimeUrl: string;
  readonly moduleUrl: string;
}

/** A program that does not compile: `message` names the file, line and column of the first error. */
export class ProgramCompileError extends Error {
  override readonly name = "ProgramCompileError";
}

interface CacheEntry {
  readonly compiled: CompiledProgram;
  /** Every bundled source file and its mtime at build time: the entry is stale when any of them changed. */
  readonly inputs: ReadonlyMap<string, number>;
}

/** Per process: every kernel of this process shares the builds (tests and benches boot many systems). */
const cache = new Map<string, CacheEntry>();
/** Builds in flight, so two boots of the same program at once build it once. */
const building = new Map<string, Promise<CacheEntry>>();
let builds = 0;

/** How many esbuild builds this process ran (for tests: the same program used by 10 PDs is built once; a build
 * loaded from the on-disk manifest of an earlier process does not count). */
export function loaderStats(): { readonly builds: number } {
  return { builds };
}

/**
 * Compiles each distinct program of `programUrls` (in parallel) against the runtime entry at `runtimePath`.
 * Resolves to one result per distinct URL: the compiled program, or the error that kept it from compiling.
 */
export async function compilePrograms(programUrls: readonly string[], runtimePath: string): Promise<Map<string, CompiledProgram | Error>> {
  const distinct = [...new Set(programUrls)];
  const results = await Promise.all(
    distinct.map(async (url) => {
      try {
        return await compileProgram(fileURLToPath(url), runtimePath);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    }),
  );
  return new Map(distinct.map((url, i) => [url, results[i]!]));
}

async function compileProgram(programPath: string, runtimePath: string): Promise<CompiledProgram> {
  const key = `${runtimePath}\0${programPath}`;
  const cached = cache.get(key);
  if (cached !== undefined && (await fresh(cached))) return cached.compiled;
  let pending = building.get(key);
  if (pending === undefined) {
    pending = fromDisk(key)
      .then((entry) => entry ?? build(programPath, runtimePath).then((built) => toDisk(key, built)))
      .finally(() => building.delete(key));
    building.set(key, pending);
  }
  const entry = await pending;
  cache.set(key, entry);
  return entry.compiled;
}

async function fresh(entry: CacheEntry): Promise<boolean> {
  // The output may have been pruned (see prune) since: then it is not fresh either.
  if (![entry.compiled.runtimeUrl, entry.compiled.moduleUrl].every((url) => existsSync(fileURLToPath(url)))) return false;
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
  readonly compiled: CompiledProgram;
  readonly inputs: readonly (readonly [string, number])[];
}

async function fromDisk(key: string): Promise<CacheEntry | undefined> {
  try {
    const manifest = JSON.parse(await readFile(await manifestPath(key), "utf8")) as Manifest;
    const entry: CacheEntry = { compiled: manifest.compiled, inputs: new Map(manifest.inputs) };
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
    const manifest: Manifest = { compiled: entry.compiled, inputs: [...entry.inputs] };
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
function cacheDirectory(): Promise<string> {
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

/** Keeps node_modules external (by absolute URL) and gives each bundled file its own import.meta values. */
function programPlugin(): Plugin {
  return {
    name: "isokit-program",
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        // Our own b.resolve below comes back through this hook: let esbuild resolve that one itself.
        if (args.pluginData === RESOLVING) return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING });
        if (resolved.errors.length > 0 || resolved.external) return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path, external: true };
        if (IN_NODE_MODULES.test(resolved.path)) return { path: pathToFileURL(resolved.path).href, external: true };
        return { path: resolved.path };
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

async function build(programPath: string, runtimePath: string): Promise<CacheEntry> {
  const esbuild = await import("esbuild");
  const root = await cacheDirectory();
  // Sources in the inline maps are relative to the output directory: build "into" a sibling of the final
  // directory (same depth under `root`) so the relative paths stay right after the move.
  const outdir = join(root, "out");
  builds++;
  let result;
  try {
    result = await esbuild.build({
      entryPoints: { runtime: runtimePath, program: programPath },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      // Only the conditions Node itself applies (esbuild adds "module" by default, which Node does not).
      conditions: [],
      sourcemap: "inline",
      outdir,
      entryNames: "[name]",
      chunkNames: "chunk-[hash]",
      write: false,
      metafile: true,
      logLevel: "silent",
      absWorkingDir: packageRoot,
      plugins: [programPlugin()],
    });
  } catch (error) {
    throw new ProgramCompileError(describeFailure(error, programPath), { cause: error });
  }
  const hash = createHash("sha256");
  for (const file of result.outputFiles) hash.update(relative(outdir, file.path)).update("\0").update(file.contents);
  const final = join(root, hash.digest("hex").slice(0, 24));
  if (!existsSync(join(final, "program.js"))) {
    const staging = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await mkdir(staging, { recursive: true });
    await Promise.all(result.outputFiles.map((file) => writeFile(join(staging, relative(outdir, file.path)), file.contents)));
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
    Object.keys(result.metafile.inputs).map(async (input) => {
      const path = isAbsolute(input) ? input : resolve(packageRoot, input);
      inputs.set(path, (await stat(path)).mtimeMs);
    }),
  );
  return {
    compiled: { runtimeUrl: pathToFileURL(join(final, "runtime.js")).href, moduleUrl: pathToFileURL(join(final, "program.js")).href },
    inputs,
  };
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
