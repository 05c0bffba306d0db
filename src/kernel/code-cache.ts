/**
 * The V8 code caches the kernel makes once and hands to every confined worker: of `ses` and of the confined
 * runtime script (kernel/loader.ts).
 *
 * Why: a confined PD's worker compiles ses (kernel/loader.ts sesBundle: one script of 162 KB) before lockdown;
 * parsing it and compiling the functions lockdown runs took ~20 of a confined PD's ~100 ms to start alone (the
 * package's one-file build; more with ten starting on two cores). With the code V8 compiled here, a worker
 * deserializes instead.
 *
 * What makes it safe: a code cache is data V8 validates before it uses it (the V8 version and flags it was
 * made with, and the source it belongs to); a cache that does not match is rejected, and the worker compiles
 * from the source as it would without one. V8's source check is cheap (not a hash of every byte), so the
 * bytes must never come from anyone but the kernel: they are made in this thread, from the file this thread
 * reads, and each worker gets its own copy in its `workerData` (a structured clone, not a shared buffer), so
 * no PD, trusted or not, can write to what another PD compiles. A copy on disk (next to the compiled programs)
 * saves the next process the making; it is used only after this thread compiled ses with it and V8 accepted it,
 * and it is as trusted as the compiled runtime beside it, which every worker imports: whoever can write the one
 * (a trusted PD can: it has the process's authority) can write the other.
 *
 * How it is made: ses runs in a fresh `vm` context (its own realm: nothing of this thread's globals changes),
 * and lockdown runs there too, so the cache holds the functions lockdown calls, not only the top level.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createContext, Script } from "node:vm";
import { LOCKDOWN_OPTIONS, sesScriptSource } from "../protocol/confinement.ts";
import { sesBundle } from "./loader.ts";

/** ses as the kernel hands it to a confined worker (protocol/control.ts PdBootData: sesPath, sesCodeCache). */
export interface SesFiles {
  readonly path: string;
  readonly codeCache: Uint8Array | undefined;
}

/**
 * The file of ses a confined worker compiles (kernel/loader.ts sesBundle, which says why that file) and the code
 * cache of it (sesCodeCache). Rejects if ses cannot be built (no confined PD can start then).
 */
export async function confinedSes(cacheDir: Promise<string>): Promise<SesFiles> {
  const path = await sesBundle();
  return { path, codeCache: await sesCodeCache(path, cacheDir) };
}

const made = new Map<string, Promise<Uint8Array | undefined>>();
const scripts = new Map<string, Uint8Array | undefined>();

/**
 * The code cache of the script at file URL `url` (the confined runtime, kernel/loader.ts: a file that is one
 * expression, compiled verbatim by bin/pd-worker.cjs), compiled here and not run: it holds the code V8 compiles
 * eagerly (the top level of every bundled module), enough for a worker to skip nearly all of its compile time.
 * Once per file per process; undefined if the file cannot be read (the worker then fails to load it anyway).
 */
export function scriptCodeCache(url: string): Uint8Array | undefined {
  if (!scripts.has(url)) {
    let cache: Uint8Array | undefined;
    try {
      const filename = fileURLToPath(url);
      cache = new Uint8Array(new Script(readFileSync(filename, "utf8"), { filename }).createCachedData());
    } catch {
      cache = undefined;
    }
    scripts.set(url, cache);
  }
  return scripts.get(url);
}

/**
 * The code cache for this process's V8 of ses's file at `path`, made once per process (or read from `cacheDir`
 * when an earlier process left one V8 accepts). Undefined if it cannot be made: workers then compile ses from its
 * source.
 */
export function sesCodeCache(path: string, cacheDir: Promise<string>): Promise<Uint8Array | undefined> {
  let pending = made.get(path);
  if (pending !== undefined) return pending;
  pending = (async () => {
    try {
      const source = sesScriptSource(readFileSync(path, "utf8"));
      // The V8 that made it and its flags are part of what V8 checks; in the name too, so processes of other
      // Node versions sharing the directory do not replace each other's. What make() ran (its recipe and the
      // lockdown options) is not checked by V8 but decides which functions the cache holds compiled: in the name,
      // so a cache of another recipe is made again rather than used.
      const key = createHash("sha256")
        .update([process.version, process.arch, process.execArgv.join(" "), String(RECIPE), JSON.stringify(LOCKDOWN_OPTIONS), source].join("\0"))
        .digest("hex")
        .slice(0, 24);
      const file = join(await cacheDir, "code-cache", `ses-${key}.bin`);
      const onDisk = await readFile(file).catch(() => undefined);
      if (onDisk !== undefined && !new Script(source, { filename: path, cachedData: onDisk }).cachedDataRejected) return new Uint8Array(onDisk);
      const cache = make(source, path);
      await save(file, cache);
      return cache;
    } catch {
      return undefined;
    }
  })();
  made.set(path, pending);
  return pending;
}

/** What make() runs; a new value when that changes (see sesCodeCache's key). */
const RECIPE = 2;

/** The functions ses installs in the realm it runs in, as make() uses them. */
interface SesRealm {
  readonly lockdown: (options: Readonly<Record<string, string>>) => void;
  readonly harden: <T>(value: T) => T;
  readonly Compartment: new (options: { __options__: true; globals: Record<string, unknown>; name: string }) => { evaluate(source: string): unknown };
}

/**
 * Runs ses in a fresh context as a confined worker runs it (pd/confine.ts): its module, lockdown(), then a hardened
 * object and a compartment evaluating a function, so that the cache holds compiled every function of ses a
 * worker runs before its program (without the compartment's, a worker compiled them itself: ~1 ms of its CPU).
 */
function make(source: string, path: string): Uint8Array {
  const script = new Script(source, { filename: path });
  const context = createContext({});
  try {
    const load = script.runInContext(context) as (exports: object, require: undefined, module: object, filename: string, dirname: string) => void;
    const module = { exports: {} };
    load(module.exports, undefined, module, path, dirname(path));
    const ses = context as SesRealm;
    ses.lockdown(LOCKDOWN_OPTIONS);
    const compartment = new ses.Compartment({ __options__: true, globals: { api: ses.harden({ call() {} }) }, name: "code cache" });
    (compartment.evaluate("(function (api) { return function () { return api; }; })\n//# sourceURL=code-cache\n") as (api: unknown) => () => unknown)(undefined)();
  } catch {
    // A realm ses or lockdown does not like: the cache then holds what ran until here, still valid.
  }
  return new Uint8Array(script.createCachedData());
}

async function save(file: string, cache: Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    // Written aside and renamed, so a reader never sees half a cache.
    const staging = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(staging, cache);
    await rename(staging, file);
  } catch {
    // an optimisation: the next process makes it again
  }
}
