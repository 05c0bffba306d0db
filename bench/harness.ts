/**
 * The benchmark harness: a case runs ≥ 5 measured rounds after one warm-up round; each round measures many
 * operations and reports one figure (µs per operation, ms, ...). We report the median and the spread over
 * rounds, and measure the timer's own cost so a reader can tell signal from clock (tinybench's practice).
 * Peers (postMessage, Comlink, raw shared memory) are cases too, measured in the same run.
 */

import { cpus, platform, arch } from "node:os";

export type Unit = "µs/op" | "ns/op" | "ms" | "M msg/s" | "GB/s";

export interface BenchCase {
  readonly id: string;
  readonly unit: Unit;
  readonly lowerIsBetter: boolean;
  /** Cases to show this one's ratio against, when they ran. */
  readonly baseline?: readonly string[];
  /** One round; `round` is -1 for the warm-up. Resolves to the round's figure in `unit`. */
  run(round: number): Promise<number>;
}

export interface SkippedCase {
  readonly id: string;
  readonly skipped: string;
}

export type AnyCase = BenchCase | SkippedCase;

export interface Result {
  readonly case: string;
  readonly unit: Unit;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
  readonly values: readonly number[];
}

export function isSkipped(c: AnyCase): c is SkippedCase {
  return "skipped" in c;
}

/** Nearest-rank percentile of `values` (sorted copy). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export async function measure(c: BenchCase, rounds: number): Promise<Result> {
  await c.run(-1);
  const values: number[] = [];
  for (let r = 0; r < rounds; r++) values.push(await c.run(r));
  return {
    case: c.id,
    unit: c.unit,
    median: percentile(values, 50),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
    rounds,
    values,
  };
}

/** What one `performance.now()` costs here, in ns (median of 5 runs of 100,000 reads). */
export function timerOverheadNs(): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const n = 100_000;
    const start = performance.now();
    let sink = 0;
    for (let i = 0; i < n; i++) sink += performance.now();
    runs.push(((performance.now() - start) * 1e6) / n + (sink === -1 ? 1 : 0));
  }
  return percentile(runs, 50);
}

export function describeMachine(): { cpu: string; cores: number; node: string; platform: string } {
  const list = cpus();
  return { cpu: list[0]?.model.trim() ?? "unknown", cores: list.length, node: process.version, platform: `${platform()} ${arch()}` };
}

function format(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** The table: one row per case, ratios against its baselines when they ran. */
export function table(results: readonly Result[], cases: readonly AnyCase[]): string[] {
  const byId = new Map(results.map((r) => [r.case, r]));
  const rows: string[][] = [["case", "unit", "median", "min–max", "p99", "rounds", "vs"]];
  for (const c of cases) {
    if (isSkipped(c)) {
      rows.push([c.id, "", "skipped", "", "", "", c.skipped]);
      continue;
    }
    const r = byId.get(c.id);
    if (r === undefined) continue;
    const ratios = (c.baseline ?? [])
      .map((b) => byId.get(b))
      .filter((b): b is Result => b !== undefined)
      .map((b) => {
        // cost: how many times the baseline's time (or the baseline's rate / ours, for throughput)
        const cost = c.lowerIsBetter ? r.median / b.median : b.median / r.median;
        return cost >= 1 ? `${format(cost)}× the cost of ${b.case}` : `${format(1 / cost)}× faster than ${b.case}`;
      });
    rows.push([c.id, r.unit, format(r.median), `${format(r.min)}–${format(r.max)}`, format(r.p99), String(r.rounds), ratios.join(", ")]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
