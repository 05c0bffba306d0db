// A confined PD (the default) that tries every way out of its compartment it can name (issue #13), and reports
// each: `name: blocked <what stopped it>` or `name: ESCAPED`. Then it calls the server, which must still answer.
// Async wait mode, so that a dynamic import's promise settles and the timers it is given can fire.
import * as isokit from "../../../src/index.ts";
import { Channel, createRegion, debugPrintln, getMr, isIpcError, mapRegion, memoryRegion, MessageInfo, protectionDomain, Rights, setMr } from "../../../src/index.ts";

const SERVER = new Channel(13);
const g = globalThis as unknown as Record<PropertyKey, unknown>;
// The compartment's `require` (what the loader turned the program's imports into). A computed name gets past the
// loader's build-time refusal and meets the worker's own.
const load: (name: string) => unknown = require;

function why(error: unknown): string {
  return isIpcError(error) ? error.code : error instanceof Error ? error.name : typeof error;
}

/** `fn` returns true if it got through; a throw or a false is the attempt stopped. */
function attempt(name: string, fn: () => unknown): void {
  let outcome: string;
  try {
    outcome = fn() === true ? "ESCAPED" : "blocked";
  } catch (error) {
    outcome = `blocked ${why(error)}`;
  }
  debugPrintln(`${name}: ${outcome}`);
}

const fs = (): typeof import("node:fs") => load(["node", "fs"].join(":")) as typeof import("node:fs");

function tryEverything(): void {
  attempt("read a file", () => fs().readFileSync("/etc/hostname", "utf8").length > 0);
  attempt("write a file", () => {
    (load("fs") as typeof import("node:fs")).writeFileSync("/tmp/isokit-confine-escape", "x");
    return true;
  });
  attempt("child_process", () => (load("child_process") as typeof import("node:child_process")).execSync("id").length > 0);
  attempt("sockets", () => typeof (load("net") as typeof import("node:net")).connect === "function");
  attempt("fetch", () => typeof g["fetch"] === "function" || typeof g["WebSocket"] === "function");
  attempt("process.kill", () => process.kill(process.pid, "SIGKILL"));
  attempt("process.exit", () => process.exit(3));
  attempt("parentPort.postMessage", () => {
    (load("node:worker_threads") as typeof import("node:worker_threads")).parentPort?.postMessage({ type: "stopped" });
    return true;
  });
  attempt("BroadcastChannel", () => typeof new BroadcastChannel("isokit") === "object");
  attempt("SharedArrayBuffer", () => new SharedArrayBuffer(8).byteLength === 8);
  attempt("Atomics", () => typeof Atomics.wait === "function");
  attempt("isokit internals by path", () => typeof load("../../../src/pd/context.ts") === "object");
  attempt("isokit/internal", () => typeof load("isokit/internal") === "object");
  attempt("the runtime's current PD", () => g[Symbol.for("isokit.currentPd")] !== undefined);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the attack under test
  attempt("Function constructor", () => new Function("return typeof process")() !== "undefined");
  attempt("indirect eval", () => (0, eval)("typeof process") !== "undefined");
  attempt("Object.prototype pollution", () => {
    (Object.prototype as Record<string, unknown>)["polluted"] = true;
    return (({}) as Record<string, unknown>)["polluted"] === true;
  });
  attempt("Array.prototype pollution", () => {
    Array.prototype.push = () => 0;
    return ([] as number[]).push(1) === 0;
  });
  // Lockdown freezes the typed arrays' prototypes property by property (pd/store-friendly-freeze.ts): as frozen.
  attempt("TypedArray prototype pollution", () => {
    // defineProperty, not an assignment: an assignment meets the override taming's setter, which throws anyway.
    Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype) as object, "set", { value: () => undefined });
    return true;
  });
  attempt("Uint8Array.prototype pollution", () => {
    Object.defineProperty(Uint8Array.prototype, "polluted", { value: true });
    return true;
  });
  attempt("an element on Object.prototype", () => {
    (Object.prototype as Record<number, unknown>)[0] = "mine";
    return (({}) as Record<number, unknown>)[0] === "mine";
  });
  attempt("API pollution", () => {
    Object.defineProperty(isokit, "getMr", { value: () => 42 });
    return isokit.getMr(0) === 42;
  });
  attempt("API prototype pollution", () => {
    MessageInfo.prototype.toString = () => "mine";
    return String(new MessageInfo(0, 0)) === "mine";
  });
  attempt("stack frames", () => {
    const prepare = (_: Error, frames: NodeJS.CallSite[]): unknown => frames;
    (Error as unknown as { prepareStackTrace: unknown }).prepareStackTrace = prepare;
    const frames = new Error("x").stack as unknown;
    return Array.isArray(frames) && frames.some((f: NodeJS.CallSite) => f.getThis() !== undefined || f.getFunction() !== undefined);
  });
  attempt("a timer's Node object", () => typeof setTimeout(() => undefined, 0) !== "number");

  const ro = memoryRegion("ro");
  attempt("write a read-only region", () => {
    (ro.bytes as Uint8Array)[0] = 7;
    return ro.bytes[0] === 7;
  });
  attempt("writableBytes of a read-only region", () => {
    ro.writableBytes()[0] = 7;
    return true;
  });
  attempt("fill a read-only region", () => {
    (ro.bytes as Uint8Array).fill(7);
    return true;
  });
  attempt("a read-only region's SharedArrayBuffer", () => new Uint8Array(ro.bytes.buffer).length > 0);
  attempt("a DataView over a read-only region", () => {
    const view = new DataView(ro.bytes.buffer);
    view.setUint8(0, 7);
    return view.getUint8(0) === 7;
  });
  attempt("a plain DataView over a region's buffer", () => {
    const real = Object.getPrototypeOf(new DataView(new ArrayBuffer(1))) as { constructor: DataViewConstructor };
    return new real.constructor(ro.bytes.buffer as ArrayBuffer).byteLength > 0;
  });
  attempt("TypedArray methods on a region view", () => {
    // the attack under test: the real method on the view
    Uint8Array.prototype.fill.call(ro.bytes as Uint8Array, 7);
    return true;
  });
  attempt("the buffer getter on a region view", () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the attack under test: the real getter on the view
    const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, "buffer")?.get;
    return getter?.call(ro.bytes) !== undefined;
  });
  attempt("a subarray of a read-only region", () => {
    const rest: Uint8Array = ro.bytes.subarray(1);
    rest[0] = 7;
    return true;
  });

  // A mapping through a capability this PD then revokes: its views stop writing; another mapping stays live.
  const { cap } = createRegion(64);
  const live = mapRegion(cap.derive(Rights.RECEIVE | Rights.SEND));
  const revocable = cap.derive(Rights.RECEIVE | Rights.SEND | Rights.REVOKE);
  const mapped = mapRegion(revocable);
  revocable.revoke();
  attempt("write a revoked region", () => {
    mapped.writableBytes()[1] = 7;
    return true;
  });
  attempt("set into a revoked region", () => {
    (mapped.bytes as Uint8Array).set([7], 2);
    return true;
  });
  live.writableBytes()[0] = 1;
  debugPrintln(`a live mapping still writes: ${live.bytes[0]}`);

  // A handle's own properties are plain data: none leads to the runtime (its IPC client, slots, raw buffers).
  attempt("the runtime through a capability's properties", () =>
    Reflect.ownKeys(revocable).some((key) => {
      const value = (revocable as unknown as Record<PropertyKey, unknown>)[key];
      return (typeof value === "object" && value !== null) || typeof value === "function";
    }),
  );
  attempt("reopen a revoked capability", () => {
    (revocable as unknown as { closedAt: unknown }).closedAt = undefined;
    return revocable.closedAt === undefined;
  });
}

export default protectionDomain(
  {
    init() {
      tryEverything();
      import(["node", "fs"].join(":"))
        .then(() => "ESCAPED", (error: unknown) => `blocked ${why(error)}`)
        .then((outcome) => {
          debugPrintln(`a dynamic import of node:fs: ${outcome}`);
          setMr(0, 6);
          setMr(1, 7);
          SERVER.ppcall(new MessageInfo(1, 2));
          debugPrintln(`the server still answers: ${getMr(0)}`);
        })
        .catch((error: unknown) => {
          debugPrintln(`unexpected: ${String(error)}`);
        });
    },
  },
  { wait: "async" },
);
