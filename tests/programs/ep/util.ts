// Helpers shared by the endpoint test programs.
import { debugPrintln, isIpcError } from "../../../src/index.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The error code `fn` throws ("ok" if it returns), printed as `label: code`. */
export function expectCode(label: string, fn: () => unknown): string {
  let code = "ok";
  try {
    fn();
  } catch (error) {
    code = isIpcError(error) ? error.code : `non-IpcError ${String(error)}`;
  }
  debugPrintln(`${label}: ${code}`);
  return code;
}

/** Waits `ms` without leaving the entry point: a confined PD has no Atomics to sleep on, so it spins (short waits only). */
export function sleepMs(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}
