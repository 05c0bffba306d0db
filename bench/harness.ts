/**
 * The benchmark harness (style principle 12, after tinybench): every case runs one warm-up round and then
 * ≥ 5 measured rounds, one case at a time; a round measures many operations and yields one figure (µs per
 * operation, M messages per second, ms, ...). We report the median, the spread (min–max) and p99 over rounds,
 * measure the timer's own cost so a reader can tell signal from clock, and compare each case with the peers
 * it names as baselines, measured in the same run.
 *
 * Adding a case: write a module under bench/cases/ that default-exports `readonly AnyCase[]` and list it in
 * bench/cases/index.ts. A case that replaces one of bench/cases/pending.ts takes over its row by id.
 */

import { arch, cpus, platform } from "node:os";
import type { Worker, WorkerOptions } from "node:worker_threads";
import { Threads } from "./threads.ts";

/**
 * Limits every case's boot passes: a case's PD times its own loop inside one entry point (warm-up and rounds in
 * init()), which the entry watchdog's default budget (5 s) would stop on a loaded machine.
 */
export const BENCH_LIMITS = { entryBudgetMs: 600_000 } as const;

export type Unit = "µs/op" | "ns/op" | "M msg/s" | "GB/s" | "ms";

/** What a case gets from the harness for each call. */
export interface RunContext {
  /** `--quick`: rounds should be shorter (see `scale`). */
  readonly quick: boolean;
  /** Multiply your operation counts by this (1, or 0.25 with `--quick`). */
  readonly scale: number;
  /**
   * Starts a worker the harness terminates when the case ends, even when it throws or times out. A bare name
   * is a script in bench/workers/.
   */
  spawn(script: string | URL, options?: WorkerOptions): Worker;
}

export interface BenchCase {
  readonly id: string;
  readonly unit: Unit;
  readonly lowerIsBetter: boolean;
  /** Ids of cases (same unit) to show this one's ratio against, when they ran. `--filter` runs them too. */
  readonly baseline?: readonly string[];
  /** A few words for the last column, e.g. what is measured. */
  readonly note?: string;
  /** Once, before the warm-up round: start workers and wait until they are ready. */
  setup?(context: RunContext): Promise<void>;
  /**
   * One round; `round` is -1 for the warm-up, then 0, 1, ... Resolves to the round's figure in `unit`
   * (finite, > 0): typically many operations timed with performance.now() and divided.
   */
  run(round: number, context: RunContext): Promise<number>;
  /** Once, after the last round or the failure; runs before the harness terminates the case's workers. */
  teardown?(): Promise<void>;
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
  /**
   * The most CPU the process used, in cores, while idle right after one of this case's rounds: near 0 when
   * the case's threads went back to sleep; a case whose workers go on spinning would slow every other case's
   * rounds (the run reports it).
   */
  readonly idleCores: number;
}

export interface Failure {
  readonly case: string;
  readonly error: string;
}

export type Outcome = Result | Failure;

export function isSkipped(c: AnyCase): c is SkippedCase {
  return "skipped" in c;
}

export function isFailure(o: Outcome): o is Failure {
  return "error" in o;
}

/**
 * Joins case modules in order. Two runnable cases may not share an id; a runnable case replaces a skipped one
 * with its id (in the skipped one's place if that came first). Baselines must name runnable or skipped cases
 * of the registry, with the same unit when runnable.
 */
export function registry(modules: readonly (readonly AnyCase[])[]): readonly AnyCase[] {
  const byId = new Map<string, AnyCase>();
  for (const c of modules.flat()) {
    const seen = byId.get(c.id);
    if (seen !== undefined && !isSkipped(seen) && !isSkipped(c)) throw new Error(`bench: two cases named '${c.id}'`);
    if (seen === undefined || isSkipped(seen)) byId.set(c.id, c);
  }
  for (const c of byId.values()) {
    if (isSkipped(c)) continue;
    for (const b of c.baseline ?? []) {
      const base = byId.get(b);
      if (base === undefined) throw new Error(`bench: case '${c.id}' names baseline '${b}', which no case module defines`);
      if (!isSkipped(base) && base.unit !== c.unit) {
        throw new Error(`bench: case '${c.id}' (${c.unit}) names baseline '${b}' (${base.unit}): units differ`);
      }
    }
  }
  return [...byId.values()];
}

/** The cases whose id contains `filter`, plus the baselines they name (so their ratios can be shown). */
export function select(cases: readonly AnyCase[], filter: string | undefined): readonly AnyCase[] {
  if (filter === undefined) return cases;
  const parts = filter.split(",").filter((part) => part !== ""); // "a,b": cases matching either
  const wanted = new Set(cases.filter((c) => parts.some((part) => c.id.includes(part))).map((c) => c.id));
  for (const c of cases) if (wanted.has(c.id) && !isSkipped(c)) for (const b of c.baseline ?? []) wanted.add(b);
  return cases.filter((c) => wanted.has(c.id));
}

/** Median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface MeasureOptions {
  readonly rounds: number;
  readonly quick: boolean;
  /** A round (or setup) taking longer fails the case; its workers are then terminated. */
  readonly roundTimeoutMs: number;
  /** How long each of three windows watches the process's CPU use after each round, in ms (0: do not watch). */
  readonly idleWindowMs?: number;
}

/** Cores the whole process (every thread) used over the next `ms` while this thread only waits. */
export async function idleCores(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / (performance.now() - start);
}

/** Above this many cores used while idle, a case left threads running: the report says so. */
export const SPINNING_CORES = 0.25;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Runs all `cases` with their rounds interleaved: every setup, every warm-up, then round r of each case
 * before round r + 1 of any. On a shared VM the cost of core-to-core traffic changes over minutes (the host
 * moves the vCPUs); interleaving puts a case and its baselines in the same conditions, and `ratio` pairs
 * their rounds. A case that fails stops; the others go on. Every worker is terminated at the end.
 */
export async function measureInterleaved(
  cases: readonly BenchCase[],
  options: MeasureOptions,
  onRound?: (id: string, round: number, value: number) => void,
): Promise<Outcome[]> {
  const states = cases.map((c) => {
    const threads = new Threads();
    const context: RunContext = {
      quick: options.quick,
      scale: options.quick ? 0.25 : 1,
      spawn: (script, workerOptions) => threads.spawn(script, workerOptions),
    };
    return { c, threads, context, values: [] as number[], idleCores: 0, error: undefined as string | undefined };
  });
  const step = async (state: (typeof states)[number], what: string, work: () => Promise<number | undefined>): Promise<void> => {
    if (state.error !== undefined) return;
    try {
      const value = await withTimeout(work(), options.roundTimeoutMs, what);
      if (value !== undefined && (!Number.isFinite(value) || value <= 0)) throw new Error(`${what}: figure ${value} is not a positive number`);
      if (value !== undefined) state.values.push(value);
    } catch (e) {
      state.error = e instanceof Error ? e.message : String(e);
    }
  };
  try {
    for (const s of states) {
      await step(s, `${s.c.id}: setup`, async () => {
        await s.c.setup?.(s.context);
        return undefined;
      });
    }
    for (const s of states) {
      await step(s, `${s.c.id}: warm-up round`, async () => {
        await s.c.run(-1, s.context);
        return undefined;
      });
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const s of states) {
        await step(s, `${s.c.id}: round ${round}`, () => s.c.run(round, s.context));
        const last = s.values.at(-1);
        if (s.error === undefined && last !== undefined) onRound?.(s.c.id, round, last);
        // A short settle first: a PD that spun on its last event stops within its spin budget (µs to ms).
        // The least of three windows: a thread left spinning shows in all three, a burst of the garbage
        // collector's threads after a round that allocated much shows in one.
        if (options.idleWindowMs !== undefined && options.idleWindowMs > 0 && s.error === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          let least = Infinity;
          for (let w = 0; w < 3; w++) least = Math.min(least, await idleCores(options.idleWindowMs));
          s.idleCores = Math.max(s.idleCores, least);
        }
      }
    }
  } finally {
    for (const s of states) {
      try {
        if (s.c.teardown !== undefined) await withTimeout(s.c.teardown(), options.roundTimeoutMs, `${s.c.id}: teardown`);
      } catch (e) {
        s.error ??= e instanceof Error ? e.message : String(e);
      } finally {
        await s.threads.terminateAll();
      }
    }
  }
  return states.map((s): Outcome => {
    if (s.error !== undefined) return { case: s.c.id, error: s.error };
    return {
      case: s.c.id,
      unit: s.c.unit,
      median: median(s.values),
      p99: percentile(s.values, 99),
      min: Math.min(...s.values),
      max: Math.max(...s.values),
      rounds: s.values.length,
      values: s.values,
      idleCores: s.idleCores,
    };
  });
}

export interface TimerCost {
  /** ns per performance.now() read (what the cases time with). */
  readonly performanceNowNs: number;
  /** ns per process.hrtime.bigint() read. */
  readonly hrtimeNs: number;
  /** Smallest non-zero step between two performance.now() reads, in ns. */
  readonly resolutionNs: number;
}

/** The timer's own cost: median of 5 runs of 100,000 back-to-back reads, per clock (tinybench's practice). */
export function timerCost(): TimerCost {
  const n = 100_000;
  const nowRuns: number[] = [];
  const hrRuns: number[] = [];
  let sink = 0;
  for (let r = 0; r < 5; r++) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += performance.now();
    nowRuns.push(Number(process.hrtime.bigint() - start) / n);
    let last = 0n;
    start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) last = process.hrtime.bigint();
    hrRuns.push(Number(last - start) / n);
  }
  let resolution = Infinity;
  for (let i = 0; i < 1000; i++) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    resolution = Math.min(resolution, (b - a) * 1e6);
  }
  // `sink` keeps the performance.now() loop from being optimised away.
  if (sink === -1) resolution = -1;
  return { performanceNowNs: median(nowRuns), hrtimeNs: median(hrRuns), resolutionNs: resolution };
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    node: process.version,
    platform: `${platform()} ${arch()}`,
  };
}

/**
 * floor.spin below this (µs) is the host's fast regime (core-to-core ~0.1 µs); above it, the slow one (~0.4 µs
 * in C, floor.spin 0.14-0.15 µs and more). Every hot-path figure is quoted with its regime.
 */
export const FAST_REGIME_SPIN_US = 0.13;

export interface Regime {
  /** By floor.spin's median. */
  readonly regime: "fast" | "slow";
  readonly floorSpinMedian: number;
  /** How many of floor.spin's rounds fell in each regime (the host can switch during a run). */
  readonly fastRounds: number;
  readonly slowRounds: number;
}

/** The run's regime, from floor.spin when it ran. */
export function regimeOf(outcomes: readonly Outcome[]): Regime | undefined {
  const spin = outcomes.find((o): o is Result => o.case === "floor.spin" && !isFailure(o));
  if (spin === undefined) return undefined;
  const fastRounds = spin.values.filter((v) => v < FAST_REGIME_SPIN_US).length;
  return {
    regime: spin.median < FAST_REGIME_SPIN_US ? "fast" : "slow",
    floorSpinMedian: spin.median,
    fastRounds,
    slowRounds: spin.values.length - fastRounds,
  };
}

/** Three significant digits, no exponent for the ranges benchmarks produce. */
export function format(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  if (value >= 0.1) return value.toFixed(3);
  return value.toPrecision(3);
}

/**
 * "3.1× the cost of b (rounds 2.9–3.4)" / "2.0× faster than b (rounds 1.8–2.3)", from this case's point of view:
 * the median of the round-by-round ratios, and their spread, in the median's direction.
 */
export function ratio(c: BenchCase, r: Result, b: Result): string {
  // How many times the baseline's cost this case's figure is (for a throughput, the inverse of the rates),
  // round by round, so rounds measured side by side are compared with each other.
  const n = Math.min(r.values.length, b.values.length);
  const costs: number[] = [];
  for (let i = 0; i < n; i++) costs.push(c.lowerIsBetter ? r.values[i]! / b.values[i]! : b.values[i]! / r.values[i]!);
  if (costs.length === 0) costs.push(c.lowerIsBetter ? r.median / b.median : b.median / r.median);
  const cost = median(costs);
  const [lo, hi] = [Math.min(...costs), Math.max(...costs)];
  // A reader can tell 1.04x from 1.27x only by how far the rounds spread: a ratio is quoted with it.
  const spread = costs.length < 2 ? "" : cost >= 1 ? ` (rounds ${format(lo)}–${format(hi)})` : ` (rounds ${format(1 / hi)}–${format(1 / lo)})`;
  return cost >= 1 ? `${format(cost)}× the cost of ${b.case}${spread}` : `${format(1 / cost)}× faster than ${b.case}${spread}`;
}

/** The table: one row per case in registry order; ratios against baselines that ran; skips and failures. */
export function table(cases: readonly AnyCase[], outcomes: readonly Outcome[]): string[] {
  const byId = new Map(outcomes.map((o) => [o.case, o]));
  const rows: string[][] = [["case", "unit", "median", "min–max", "p99", "rounds", "vs / note"]];
  for (const c of cases) {
    if (isSkipped(c)) {
      rows.push([c.id, "", "skipped", "", "", "", c.skipped]);
      continue;
    }
    const o = byId.get(c.id);
    if (o === undefined) continue;
    if (isFailure(o)) {
      rows.push([c.id, c.unit, "FAILED", "", "", "", o.error]);
      continue;
    }
    const ratios = (c.baseline ?? [])
      .map((b) => byId.get(b))
      .filter((b): b is Result => b !== undefined && !isFailure(b))
      .map((b) => ratio(c, o, b));
    const last = [...ratios, ...(c.note === undefined ? [] : [c.note])].join("; ");
    rows.push([c.id, o.unit, format(o.median), `${format(o.min)}–${format(o.max)}`, format(o.p99), String(o.rounds), last]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
