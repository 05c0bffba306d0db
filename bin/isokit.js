#!/usr/bin/env node
// The isokit command. PD programs may be TypeScript, so the tsx loader is registered first (it is a
// dependency); the CLI itself runs from dist/ when built, else from its TypeScript sources.
import { existsSync } from "node:fs";
import { register } from "tsx/esm/api";

register();
const built = new URL("../dist/cli/main.js", import.meta.url);
await import(existsSync(built) ? built.href : new URL("../src/cli/main.ts", import.meta.url).href);
