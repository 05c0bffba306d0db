#!/usr/bin/env node
// The isokit command. It runs the compiled CLI in dist/ (`npm run build`, which the `prepare` script runs on
// `npm install` / `npm ci`), so starting it compiles nothing. In a checkout, dist/ is used only while it is
// newer than every file of src/; a checkout without a build, or with sources edited since, runs src/ through
// the tsx loader instead (slower to start, never stale). An installed package ships dist/ alone.
import { existsSync, readdirSync, statSync } from "node:fs";

const compiled = new URL("../dist/cli/main.js", import.meta.url);
const sources = new URL("../src/", import.meta.url);

/** dist/ was built after the last change to src/ (tsc rewrites every output, so main.js dates the build). */
function compiledIsCurrent() {
  if (!existsSync(compiled)) return false;
  if (!existsSync(sources)) return true;
  const built = statSync(compiled).mtimeMs;
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}

if (compiledIsCurrent()) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("cli/main.ts", sources).href);
}
