// Entry of every PD worker thread. Plain JavaScript, and no module hooks: the kernel compiled the runtime and
// the program into JavaScript (src/kernel/loader.ts), so a worker costs little more than a bare one.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { workerData } from "node:worker_threads";

// The compiled files carry inline source maps: with them a fault's stack names the program's own files.
process.setSourceMapsEnabled(true);
// A trusted PD's runtime is ES modules its program shares; a confined PD's is one CommonJS script (runtime.cjs,
// kernel/loader.ts), compiled with the V8 code cache the kernel made of it (kernel/code-cache.ts: V8 rejects a
// cache that does not match the script and compiles it from its source).
const runtime = workerData.runtimeUrl.endsWith(".cjs") ? runScript(workerData.runtimeUrl, workerData.runtimeCodeCache) : await import(workerData.runtimeUrl);
await runtime.runWorker(runtime.api);

/** Runs the script at `url`, one expression whose value is a CommonJS module function, as Node runs a module. */
function runScript(url, cachedData) {
  const filename = fileURLToPath(url);
  const script = new Script(readFileSync(filename, "utf8"), { filename, ...(cachedData === undefined ? {} : { cachedData }) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(filename), module, filename, dirname(filename));
  return module.exports;
}
