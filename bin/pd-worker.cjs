// Entry of every PD worker thread. Plain JavaScript, and no module hooks: the kernel compiled the runtime and
// the program into JavaScript (src/kernel/loader.ts), so a worker costs little more than a bare one.
//
// CommonJS, not an ES module: a worker whose entry is an ES module starts Node's ES module loader first (some
// twenty more built-in modules, ~6 ms of a worker's CPU here), which a confined PD never uses: its runtime is one
// script run below. A trusted PD's runtime is ES modules, and its import() starts the loader then, as its entry
// did before (the same cost).
"use strict";
const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname } = require("node:path");
const { fileURLToPath } = require("node:url");
const { Script } = require("node:vm");
const { workerData } = require("node:worker_threads");

// The compiled files carry inline source maps: with them a fault's stack names the program's own files.
process.setSourceMapsEnabled(true);
// A trusted PD's runtime is ES modules its program shares; a confined PD's is one CommonJS script (runtime.cjs,
// kernel/loader.ts), compiled with the V8 code cache the kernel made of it (kernel/code-cache.ts: V8 rejects a
// cache that does not match the script and compiles it from its source).
// A rejection here (the runtime failed to load, or its loop threw) is unhandled: the worker's 'error', as a
// top-level await's would be.
if (workerData.runtimeUrl.endsWith(".cjs")) {
  const runtime = runScript(workerData.runtimeUrl, workerData.runtimeCodeCache);
  void runtime.runWorker(runtime.api);
} else {
  void import(workerData.runtimeUrl).then((runtime) => runtime.runWorker());
}

/** Runs the script at `url`, one expression whose value is a CommonJS module function, as Node runs a module. */
function runScript(url, cachedData) {
  const filename = fileURLToPath(url);
  const script = new Script(readFileSync(filename, "utf8"), { filename, ...(cachedData === undefined ? {} : { cachedData }) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(filename), module, filename, dirname(filename));
  return module.exports;
}
