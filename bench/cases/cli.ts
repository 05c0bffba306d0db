/**
 * How long the `isokit` command takes to start, against a bare Node start measured in the same run (issue
 * 15: `isokit --version` within 2× `node -e 0`). Each round starts the process `n` times, one after the
 * other, and reports the mean wall time of one start, spawn to exit. `cli.start` runs the compiled CLI
 * (dist/, what bin/isokit.js loads when it is current); it fails rather than measure tsx if dist/ is missing.
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { AnyCase, BenchCase, RunContext } from "../harness.ts";

const bin = new URL("../../bin/isokit.js", import.meta.url);
const compiled = new URL("../../dist/cli/main.js", import.meta.url);

function starts(args: readonly string[], context: RunContext): number {
  const n = Math.max(3, Math.round(20 * context.scale));
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  }
  return (performance.now() - start) / n;
}

const floorNodeStart: BenchCase = {
  id: "floor.node.start",
  unit: "ms",
  lowerIsBetter: true,
  note: "node -e 0: spawn to exit",
  run: (_round, context) => Promise.resolve(starts(["-e", "0"], context)),
};

const cliStart: BenchCase = {
  id: "cli.start",
  unit: "ms",
  lowerIsBetter: true,
  baseline: ["floor.node.start"],
  note: "isokit --version from dist/: spawn to exit",
  setup() {
    if (!existsSync(compiled)) return Promise.reject(new Error("cli.start: no dist/cli/main.js (npm run build)"));
    return Promise.resolve();
  },
  run: (_round, context) => Promise.resolve(starts([bin.pathname, "--version"], context)),
};

const ipcSystem = new URL("../../examples/ipc/ipc.system", import.meta.url);

const cliCheckStart: BenchCase = {
  ...cliStart,
  id: "cli.check.start",
  note: "isokit check examples/ipc/ipc.system from dist/: spawn to exit",
  run: (_round, context) => Promise.resolve(starts([bin.pathname, "check", ipcSystem.pathname], context)),
};

const cases: readonly AnyCase[] = [floorNodeStart, cliStart, cliCheckStart];

export default cases;
