/**
 * `npm run bench`: isokit against raw shared memory, postMessage and Comlink, on this machine, in one run.
 *
 *   --rounds N     measured rounds per case (default 7, at least 5)
 *   --filter S     only cases whose id contains S
 *   --json FILE    also write { machine, timerOverheadNs, results } as JSON
 *   --quick        5 rounds (for a fast look)
 */

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { allCases } from "./cases/index.ts";
import { describeMachine, isSkipped, measure, table, timerOverheadNs, type Result } from "./harness.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    filter: { type: "string" },
    json: { type: "string" },
    quick: { type: "boolean", default: false },
  },
});
const rounds = values.quick ? 5 : Math.max(5, Number.parseInt(values.rounds, 10) || 7);
const cases = allCases.filter((c) => values.filter === undefined || c.id.includes(values.filter));

const machine = describeMachine();
const overhead = timerOverheadNs();
process.stdout.write(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}\n`);
process.stdout.write(`timer: performance.now() costs ${overhead.toFixed(0)} ns; ${rounds} rounds per case after one warm-up\n\n`);

const results: Result[] = [];
for (const c of cases) {
  if (isSkipped(c)) continue;
  process.stderr.write(`  ${c.id} ...`);
  const result = await measure(c, rounds);
  results.push(result);
  process.stderr.write(` ${result.median.toPrecision(3)} ${result.unit}\n`);
}
process.stdout.write(`\n${table(results, cases).join("\n")}\n`);

if (values.json !== undefined) {
  const records = [
    ...results.map((r) => ({ case: r.case, unit: r.unit, median: r.median, p99: r.p99, min: r.min, max: r.max, rounds: r.rounds })),
    ...cases.filter(isSkipped).map((c) => ({ case: c.id, skipped: c.skipped })),
  ];
  writeFileSync(values.json, `${JSON.stringify({ machine, timerOverheadNs: overhead, results: records }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${values.json}\n`);
}
