/**
 * `npm run bench`: isokit against raw shared memory, postMessage and Comlink, on this machine, in one run.
 *
 *   --rounds N     measured rounds per case after one warm-up (default 7, at least 5)
 *   --filter S     only cases whose id contains S (or one of S's comma-separated parts), plus their baselines
 *   --json FILE    also write { machine, regime, timerOverheadNs, results } as JSON, one record per case with
 *                  every round's value
 *   --quick        5 rounds of a quarter of the operations each (a fast look, not figures to quote)
 *
 * Cases run one at a time. A case that fails is reported (table, JSON `{ case, error }`) and the run goes on;
 * the exit code is then 1.
 */

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { allCases } from "./cases/index.ts";
import {
  describeMachine,
  format,
  isFailure,
  isSkipped,
  measureInterleaved,
  regimeOf,
  SPINNING_CORES,
  select,
  table,
  timerCost,
  type BenchCase,
  type Outcome,
} from "./harness.ts";

const usage = "usage: node --import tsx bench/run.ts [--rounds N (>= 5)] [--filter SUBSTR] [--json FILE] [--quick]";

function options(): { rounds: number; quick: boolean; filter: string | undefined; json: string | undefined } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rounds: { type: "string" },
        filter: { type: "string" },
        json: { type: "string" },
        quick: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${usage}\n`);
    process.exit(2);
  }
  let rounds = values.quick ? 5 : 7;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) {
      process.stderr.write(`--rounds: '${values.rounds}' is not a whole number of rounds\n${usage}\n`);
      process.exit(2);
    }
    if (rounds < 5) {
      process.stderr.write(`--rounds ${rounds}: a median and spread need at least 5 rounds; using 5\n`);
      rounds = 5;
    }
  }
  return { rounds, quick: values.quick, filter: values.filter, json: values.json };
}

const { rounds, quick, filter, json } = options();
const cases = select(allCases, filter);
if (cases.length === 0) {
  process.stderr.write(`--filter '${filter ?? ""}' matches no case; cases: ${allCases.map((c) => c.id).join(", ")}\n`);
  process.exit(2);
}

const timer = timerCost();
process.stdout.write(
  `timer: performance.now() costs ${format(timer.performanceNowNs)} ns a read (resolution ${format(timer.resolutionNs)} ns), ` +
    `process.hrtime.bigint() ${format(timer.hrtimeNs)} ns; ${rounds} rounds per case after one warm-up, interleaved across cases${quick ? ", quick" : ""}; ratios pair the rounds\n`,
);

const runnable = cases.filter((c): c is BenchCase => !isSkipped(c));
process.stderr.write(`  ${runnable.length} cases: setup and warm-up, then ${rounds} interleaved rounds\n`);
const started = performance.now();
const outcomes: Outcome[] = await measureInterleaved(runnable, { rounds, quick, roundTimeoutMs: 60_000, idleWindowMs: 15 }, (id, round, value) => {
  process.stderr.write(`  round ${round} ${id}: ${format(value)}\n`);
});
for (const o of outcomes) if (isFailure(o)) process.stderr.write(`  ${o.case} FAILED: ${o.error}\n`);
process.stderr.write(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

const machine = describeMachine();
const regime = regimeOf(outcomes);
process.stdout.write(`\n${table(cases, outcomes).join("\n")}\n\n`);
process.stdout.write(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}\n`);
process.stdout.write(
  regime === undefined
    ? "regime: unknown (floor.spin did not run)\n"
    : `regime: ${regime.regime} (floor.spin median ${format(regime.floorSpinMedian)} µs; ${regime.fastRounds} rounds fast, ${regime.slowRounds} slow)\n`,
);
for (const o of outcomes) {
  if (!isFailure(o) && o.idleCores > SPINNING_CORES) {
    process.stdout.write(`warning: after a round of ${o.case} the process still used ${format(o.idleCores)} cores while idle: its threads did not go back to sleep\n`);
  }
}

if (json !== undefined) {
  const byId = new Map(outcomes.map((o) => [o.case, o]));
  const records = cases.map((c) => {
    if (isSkipped(c)) return { case: c.id, skipped: c.skipped };
    const o = byId.get(c.id);
    if (o === undefined || isFailure(o)) return { case: c.id, error: o?.error ?? "did not run" };
    return { case: o.case, unit: o.unit, median: o.median, p99: o.p99, min: o.min, max: o.max, rounds: o.rounds, values: o.values, idleCores: o.idleCores };
  });
  writeFileSync(json, `${JSON.stringify({ machine, regime: regime ?? null, timerOverheadNs: timer.performanceNowNs, results: records }, null, 2)}\n`);
  process.stdout.write(`wrote ${json}\n`);
}

if (outcomes.some(isFailure)) process.exitCode = 1;
