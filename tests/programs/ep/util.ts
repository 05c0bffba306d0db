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
    if (isIpcError(error) && process.env["ISOKIT_TEST_VERBOSE"] !== undefined) debugPrintln(`${label}: ${error.message}`);
  }
  debugPrintln(`${label}: ${code}`);
  return code;
}

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
