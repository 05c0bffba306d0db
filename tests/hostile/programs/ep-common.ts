// Shared by the hostile endpoint programs (tests/hostile/endpoints.test.ts): printing typed error codes, the
// `ctl` region some systems map (the test supplies it and reads/writes it too), and a hostile PD's way to
// its own runtime's private state — what any program in a worker can reach, since that runtime runs in the
// untrusted isolate.
import { debugPrintln, isIpcError, memoryRegion } from "../../../src/index.ts";
import { currentPd } from "../../../src/pd/context.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The error code of `error`, or `non-IpcError <name>: <message>` (cut short) for anything untyped. */
export function codeOf(error: unknown): string {
  if (isIpcError(error)) return error.code;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `non-IpcError ${text.slice(0, 120)}`;
}

/** The code `fn` throws ("ok" if it returns). */
export function codeOfCall(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (error) {
    return codeOf(error);
  }
}

/** Prints `label: code` for `fn` and returns the code. */
export function expectCode(label: string, fn: () => unknown): string {
  const code = codeOfCall(fn);
  debugPrintln(`${label}: ${code}`);
  return code;
}

/** Codes with how often each was seen, sorted: "A*3,B*1". */
export function tally(codes: Map<string, number>): string {
  return [...codes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, n]) => `${c}*${n}`).join(",") || "none";
}

export function count(codes: Map<string, number>, code: string): void {
  codes.set(code, (codes.get(code) ?? 0) + 1);
}

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The words of the `ctl` region (mapped under symbol "ctl"). */
export function ctl(): Int32Array {
  return new Int32Array(memoryRegion("ctl").writableBytes().buffer, 0, 64);
}

/** Waits (bounded) until ctl word `i` is non-zero; false if it never was. */
export function waitWord(c: Int32Array, i: number, ms: number): boolean {
  const deadline = performance.now() + ms;
  while (Atomics.load(c, i) === 0) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(c, i, 0, Math.min(left, 50));
  }
  return true;
}

export function setWord(c: Int32Array, i: number, value = 1): void {
  Atomics.store(c, i, value);
  Atomics.notify(c, i);
}

/** What a hostile program reaches of its own IpcClient at run time (private fields; names as in src/ipc/client.ts). */
export interface RawClient {
  readonly endpoints: Map<number, { readonly guard: Int32Array }>;
  readonly link: { syscall(request: Record<string, unknown>): unknown };
}

export function rawClient(): RawClient {
  return currentPd("raw").ipcClient("raw") as unknown as RawClient;
}
