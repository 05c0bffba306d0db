#!/usr/bin/env node
// The isokit command. PD programs may be TypeScript, so the tsx loader is registered first (it is a
// dependency). In a checkout the CLI runs from its TypeScript sources (never a stale build); an installed
// package ships only dist/.
import { existsSync } from "node:fs";
import { register } from "tsx/esm/api";

register();
const source = new URL("../src/cli/main.ts", import.meta.url);
await import(existsSync(source) ? source.href : new URL("../dist/cli/main.js", import.meta.url).href);
