/**
 * Performance statistics of one PD's IPC operations (seed 003's `IPC_PERF_STATS`), from real measurements.
 *
 * Every operation is counted (send, call, receive, reply); sends and calls — a send until the receiver took
 * it, a call until its reply — are the ones timed, one in `SAMPLE_EVERY` with `performance.now()` (reading the
 * clock twice on every call would cost a fifth of a round trip), and the last `WINDOW` timings give the
 * average, p50 and p99. A receive is not timed: its wait is the senders' idle time, not the cost of IPC. "Fast path" means the operation finished without its thread going to sleep: the peer answered
 * while this side was still spinning.
 */

export interface PerformanceStats {
  /** Operations (send, call, receive, reply) completed by this PD. */
  readonly totalOperations: number;
  /** Operations timed (one in 16); the averages and percentiles below come from the last 4096 of them. */
  readonly sampledOperations: number;
  readonly averageLatencyNs: number;
  readonly p50LatencyNs: number;
  readonly p99LatencyNs: number;
  /** Per cent of operations that completed without sleeping. */
  readonly fastPathPercent: number;
  /** Seed 003's phase-1 target: average latency below 5 µs. */
  readonly meetsPhase1Targets: boolean;
  /** Seed 003's phase-5 target: average latency below 1 µs. */
  readonly meetsPhase5Targets: boolean;
}

const SAMPLE_EVERY = 16;
const WINDOW = 4096;

export class OperationStats {
  private operations = 0;
  private timedCandidates = 0;
  private slow = 0;
  private sampled = 0;
  private readonly window = new Float64Array(WINDOW);

  /** True if this operation should be timed; call before it starts. */
  shouldSample(): boolean {
    return (this.timedCandidates++ & (SAMPLE_EVERY - 1)) === 0;
  }

  /** Records one finished operation; `startedAt` is the clock reading for a sampled one, else negative. */
  record(startedAt: number, slept: boolean): void {
    if (startedAt >= 0) {
      this.window[this.sampled % WINDOW] = (performance.now() - startedAt) * 1e6;
      this.sampled++;
    }
    this.operations++;
    if (slept) this.slow++;
  }

  report(): PerformanceStats {
    const n = Math.min(this.sampled, WINDOW);
    const samples = Array.from(this.window.subarray(0, n)).sort((a, b) => a - b);
    const average = n === 0 ? 0 : samples.reduce((sum, x) => sum + x, 0) / n;
    const at = (q: number): number => (n === 0 ? 0 : samples[Math.min(n - 1, Math.floor(q * n))]!);
    return {
      totalOperations: this.operations,
      sampledOperations: this.sampled,
      averageLatencyNs: Math.round(average),
      p50LatencyNs: Math.round(at(0.5)),
      p99LatencyNs: Math.round(at(0.99)),
      fastPathPercent: this.operations === 0 ? 100 : (100 * (this.operations - this.slow)) / this.operations,
      meetsPhase1Targets: n > 0 && average < 5000,
      meetsPhase5Targets: n > 0 && average < 1000,
    };
  }
}
