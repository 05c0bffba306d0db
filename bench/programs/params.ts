// A bench program's parameters: from the memory region "bench-params" when the case maps one (a JSON object,
// NUL-padded, written by the host: the way a confined PD gets them), else from the environment (a trusted PD).
import { memoryRegion } from "../../src/index.ts";

let fromRegion: Record<string, string> | undefined;

function regionParams(): Record<string, string> {
  if (fromRegion !== undefined) return fromRegion;
  try {
    const bytes = memoryRegion("bench-params").bytes;
    const text = new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0)));
    fromRegion = JSON.parse(text) as Record<string, string>;
  } catch {
    fromRegion = {}; // not mapped (or not yet running): the environment, if any, then the default
  }
  return fromRegion;
}

/** Parameter `name` (e.g. ISOKIT_BENCH_ITERATIONS), or undefined. Call it from an entry point, not at load. */
export function benchParam(name: string): string | undefined {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  return regionParams()[name] ?? env?.[name];
}
