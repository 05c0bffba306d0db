/**
 * Runs a confined PD program: Hardened JavaScript (the `ses` package) inside the PD's worker.
 *
 * The worker's runtime loads first, with Node's whole authority; then `lockdown()` freezes every shared
 * intrinsic (Object.prototype, Array.prototype, Function.prototype, ...), so nothing the program does to them
 * can change how the runtime behaves, and the program, compiled by kernel/loader.ts into one CommonJS bundle,
 * is evaluated in a new `Compartment`. Its global object holds the JavaScript intrinsics and the endowments
 * below, nothing else: no `process`, `require`, `import("node:…")`, `fetch`, `Worker`, `parentPort`,
 * `SharedArrayBuffer` or `Atomics` (compartments never have those), and no reference to the runtime's objects.
 * What it may import of isokit comes through `require`, an endowment answering only the specifiers the loader
 * left in the bundle (`isokit`, `isokit/<sub>`, never `isokit/internal`) with a hardened copy of the runtime's
 * own module namespace; anything else throws `PermissionDenied`.
 *
 * Speed: a compartment's global names go through its scope proxy (~0.25 µs a lookup, /work/shared/measured.md),
 * which would put a quarter of a microsecond on every `Math` or `Uint8Array` in a hot loop. So the bundle is
 * wrapped in a function whose parameters are the compartment's global names, called once with their values:
 * inside, every global is a lexical binding. The API functions are properties of the frozen namespace objects
 * `require` returned at load, held in the bundle's own variables: a call costs what it costs a trusted program.
 *
 * Endowments: `console` (its lines go to the PD's output like `debugPrintln`), `setTimeout`/`setInterval` and
 * their clears (numbers as handles, never Node's Timeout objects, which link to the runtime's own timers; they
 * fire only in an `async` PD, whose event loop runs), `queueMicrotask`, `TextEncoder`/`TextDecoder` and
 * `DataView` that also take a region's guarded view (pd/regions.ts), `AbortController`/`AbortSignal`, and the
 * start compartment's `Date` and `Math` (a compartment's own `Date.now()` is NaN and `Math.random()` throws;
 * programs measure and shuffle, and the timing channel is there anyway: see docs/confinement.md), and
 * `performance.now()`.
 */

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { Script } from "node:vm";
import { TextDecoder, TextEncoder, type EncodeIntoResult } from "node:util";
import { IpcError } from "../errors.ts";
import { LOCKDOWN_OPTIONS, sesScriptSource } from "../protocol/confinement.ts";
import { confinedDataView, unguarded } from "./regions.ts";
import { debugPrintln } from "./registers.ts";
import { withStoreFriendlyFreeze } from "./store-friendly-freeze.ts";

/** The functions `ses` installs on globalThis (its own type declarations are global, so they are typed here). */
interface Ses {
  readonly lockdown: (options: Record<string, string>) => void;
  readonly harden: <T>(value: T) => T;
  Compartment: new (options: { __options__: true; globals: Record<string, unknown>; name: string }) => {
    readonly globalThis: Record<string, unknown>;
    evaluate(source: string): unknown;
  };
}

let ses: Ses | undefined;

/** What the kernel gives a confined worker of ses (protocol/control.ts PdBootData: sesPath, sesCodeCache). */
export interface SesFiles {
  readonly path: string;
  readonly codeCache?: Uint8Array | undefined;
}

/**
 * Locks the worker down, once. Tamings chosen so the runtime keeps working as before: stacks stay readable
 * (`errorTaming: "unsafe"`, for fault reports), the host's console and process handlers are left alone (the
 * kernel owns a worker's faults and streams). kernel/code-cache.ts makes its cache with the same options.
 *
 * `overrideTaming: "min"`: lockdown freezes every intrinsic whatever this option says; it only chooses which
 * inherited data properties ses turns into getter/setter pairs, so that an assignment to an object below one
 * still makes that object's own property (JavaScript's "override mistake" makes it throw otherwise). "min" does
 * it for Object.prototype.toString, Function.prototype.toString, Error.prototype.name and the iterator
 * prototype's constructor, toString and @@toStringTag; "moderate" (used until now) for ~60 more, among them
 * every %TypedArray%.prototype method and each Error prototype's `message` and `name`. So it is as safe (nothing
 * becomes writable or reachable that was not; a setter made by "moderate" only ever defined a property on the
 * object assigned to), and each accessor pair it does not make is two functions less to create and harden:
 * ~2.5 ms of a confined worker's CPU (20 fresh workers of each, alternating, medians: 19.3-20.4 against
 * 22.5-22.7 ms for ses's load, lockdown and a compartment). What it costs is compatibility, for programs only
 * (the runtime assigns none of those): `this.message = m` in an Error subclass whose `super()` got no message,
 * `this.name = n` in a TypeError subclass, or a typed array method assigned to an instance throws a TypeError in
 * a confined PD; docs/confinement.md tells programs to use `super(m)` or Object.defineProperty.
 *
 * ses is the file the kernel names (`files.path`: ses's ES modules bundled into one script, kernel/loader.ts
 * sesBundle says why), compiled as CommonJS would compile it but with `files.codeCache`, the V8 code cache the
 * kernel made of it (kernel/code-cache.ts; this worker's own copy). V8 checks a cache before using it: one made by
 * another V8, with other flags or for other source is rejected and ses is compiled from its source.
 */
function lockedDown(files: SesFiles): Ses {
  if (ses !== undefined) return ses;
  // ses reads the stack of errors it makes while it loads and locks down; with source maps on, Node then parses
  // the map of every runtime file on those stacks (~5 ms, before any fault needs one). Off meanwhile: the maps
  // Node cached as the runtime loaded stay cached, and stacks use them again once it is back on.
  const maps = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(false);
  try {
    ses = lockDown(files);
  } finally {
    process.setSourceMapsEnabled(maps);
  }
  return ses;
}

function lockDown({ path, codeCache }: SesFiles): Ses {
  const source = sesScriptSource(readFileSync(path, "utf8"));
  const script = new Script(source, { filename: path, ...(codeCache === undefined ? {} : { cachedData: codeCache }) });
  const module = { exports: {} };
  // Evaluated with an Object.freeze that keeps typed-array stores fast after lockdown (pd/store-friendly-freeze.ts):
  // ses captures Object.freeze as it evaluates.
  withStoreFriendlyFreeze(() => {
    (script.runInThisContext() as (exports: object, require: undefined, module: object, filename: string, dirname: string) => void)(module.exports, undefined, module, path, dirname(path));
  });
  const g = globalThis as unknown as Ses;
  g.lockdown({ ...LOCKDOWN_OPTIONS }); // the options kernel/code-cache.ts made its cache with (protocol/confinement.ts)
  return g;
}

/** JavaScript identifiers that cannot be parameter names in strict code, or need not be (literals). */
const NOT_PARAMETERS = new Set(["eval", "arguments", "undefined", "NaN", "Infinity"]);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Evaluates the confined bundle at `moduleUrl` for PD `pd` and returns its module's default export (the
 * runtime checks it is a `protectionDomain(...)` program, as for a trusted one). `api` maps each specifier the
 * program may import to the namespace of the runtime's module for it; `sesFiles` are the kernel's file of ses and
 * its code cache (see lockedDown). Throws what evaluating the program threw (a load fault).
 */
export function loadConfinedProgram(pd: string, moduleUrl: string, api: ReadonlyMap<string, Record<string, unknown>>, sesFiles: SesFiles): unknown {
  // Read everything with the runtime's authority before lockdown; nothing after it is trusted code. Synchronously:
  // node:fs/promises is a module of its own, which a worker loads only for this (~1 ms of its CPU).
  const source = readFileSync(new URL(moduleUrl), "utf8");
  const { harden, Compartment } = lockedDown(sesFiles);
  // A namespace (its bindings are getters) is not what the program gets: it gets a frozen copy of the bindings'
  // values (the same function and class objects the runtime uses, hardened: their prototypes are frozen too).
  const modules = new Map([...api].map(([spec, ns]) => [spec, harden(namespaceCopy(ns))]));
  const allowed = [...modules.keys()].join(", ");
  const require = harden((specifier: unknown): unknown => {
    const module = typeof specifier === "string" ? modules.get(specifier) : undefined;
    if (module === undefined) {
      throw new IpcError("PermissionDenied", `import: '${String(specifier)}' is out of reach of confined PD '${pd}' (it may import its own files, ${allowed}, and the packages the system allows)`, {
        operation: "import",
        pd,
      });
    }
    return module;
  });
  const compartment = new Compartment({ __options__: true, globals: endowments(harden), name: `isokit PD '${pd}'` });
  const names = Object.getOwnPropertyNames(compartment.globalThis).filter((name) => IDENTIFIER.test(name) && !NOT_PARAMETERS.has(name));
  // On one line before the bundle's first, so the bundle's line numbers stay those of its source map.
  const wrapped = `(function (${names.join(", ")}) { return function (module, exports, require) { ${source}\n}; })\n//# sourceURL=${moduleUrl}\n`;
  const outer = compartment.evaluate(wrapped) as (...globals: unknown[]) => (module: unknown, exports: unknown, require: unknown) => void;
  const module = { exports: {} as Record<string, unknown> };
  outer(...names.map((name) => compartment.globalThis[name]))(module, module.exports, require);
  return module.exports["default"];
}

/**
 * A plain copy of a module namespace, with a null prototype, in V8's fast-properties mode: a program's every
 * call into the API loads the function from it (esbuild compiles `setMr(...)` to `(0, import_isokit.setMr)(...)`).
 * `Object.create(null)` and `Object.assign` make dictionary-mode objects (a hash lookup per load); a spread
 * literal, re-parented and then frozen, stays fast.
 */
function namespaceCopy(ns: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...ns };
  Object.setPrototypeOf(copy, null);
  return copy;
}

function endowments(harden: Ses["harden"]): Record<string, unknown> {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 0;
  const schedule = (repeat: boolean) => (callback: unknown, ms?: unknown, ...args: unknown[]): number => {
    if (typeof callback !== "function") throw new TypeError(`${repeat ? "setInterval" : "setTimeout"}: the callback must be a function`);
    const id = ++next;
    const run = (): void => {
      if (!repeat) timers.delete(id);
      (callback as (...a: unknown[]) => void)(...args);
    };
    timers.set(id, repeat ? setInterval(run, Number(ms)) : setTimeout(run, Number(ms)));
    return id;
  };
  const clear = (id: unknown): void => {
    const timer = timers.get(Number(id));
    timers.delete(Number(id));
    clearTimeout(timer);
  };
  const print = (...parts: unknown[]): void => { debugPrintln(...parts); };
  const start = performance;
  return {
    console: harden({ log: print, info: print, warn: print, error: print, debug: print }),
    setTimeout: harden(schedule(false)),
    setInterval: harden(schedule(true)),
    clearTimeout: harden(clear),
    clearInterval: harden(clear),
    queueMicrotask: harden((callback: () => void) => { queueMicrotask(callback); }),
    TextEncoder: harden(ConfinedTextEncoder),
    TextDecoder: harden(ConfinedTextDecoder),
    DataView: harden(ConfinedDataView),
    // Calls and waits take an AbortSignal (the PD API's cancellation).
    AbortController: harden(AbortController),
    AbortSignal: harden(AbortSignal),
    Date: harden(Date),
    Math: harden(Math),
    performance: harden({ now: () => start.now() }),
  };
}

/**
 * `DataView` as a program writes it, `new DataView(bytes.buffer, offset, length)`, also over a region's guarded
 * view (whose `.buffer` is a stand-in): a guarded DataView then. `instanceof DataView` holds for both.
 */
const ConfinedDataView = function DataView(this: unknown, buffer: unknown, byteOffset?: number, byteLength?: number): DataView {
  if ((new.target as unknown) === undefined) throw new TypeError("Constructor DataView requires 'new'");
  return confinedDataView(buffer, byteOffset, byteLength);
} as unknown as DataViewConstructor;
Object.defineProperty(ConfinedDataView, "prototype", { value: globalThis.DataView.prototype });

// Node's encoders need true typed arrays; a region's guarded view (pd/regions.ts) is a Proxy. These take either,
// and writing into a view checks its rights as any other write to it does.

class ConfinedTextEncoder {
  readonly #encoder = new TextEncoder();
  get encoding(): string {
    return this.#encoder.encoding;
  }
  encode(input?: string): Uint8Array {
    return this.#encoder.encode(input);
  }
  encodeInto(input: string, destination: Uint8Array): EncodeIntoResult {
    return this.#encoder.encodeInto(input, unguarded(destination, true) as Uint8Array);
  }
}

class ConfinedTextDecoder {
  readonly #decoder: TextDecoder;
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }) {
    this.#decoder = new TextDecoder(label, options);
  }
  get encoding(): string {
    return this.#decoder.encoding;
  }
  get fatal(): boolean {
    return this.#decoder.fatal;
  }
  get ignoreBOM(): boolean {
    return this.#decoder.ignoreBOM;
  }
  decode(input?: NodeJS.ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string {
    return this.#decoder.decode(unguarded(input, false) as NodeJS.ArrayBufferView | ArrayBuffer | undefined, options);
  }
}
