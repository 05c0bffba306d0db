// The bench's report: a ratio is the median of the round-by-round ratios, quoted with how far the rounds spread.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ratio, table, type BenchCase, type Result } from "../bench/harness.ts";

function result(id: string, values: number[]): Result {
  const sorted = [...values].sort((a, b) => a - b);
  return { case: id, unit: "µs/op", median: sorted[sorted.length >> 1]!, p99: sorted.at(-1)!, min: sorted[0]!, max: sorted.at(-1)!, rounds: values.length, values, idleCores: 0 };
}

function benchCase(id: string, lowerIsBetter: boolean, baseline: string[] = []): BenchCase {
  return { id, unit: "µs/op", lowerIsBetter, baseline, run: () => Promise.resolve(1) };
}

describe("bench report", () => {
  it("pairs the rounds: the median of the per-round ratios, and their least and greatest", () => {
    // Round by round 1.1, 1.5, 1.2, 1.0, 1.3: the median 1.2, not 1.5 / 1.25 from the two medians.
    const watched = result("watched", [1.1, 3, 1.2, 2, 2.6]);
    const plain = result("plain", [1, 2, 1, 2, 2]);
    assert.equal(ratio(benchCase("watched", true), watched, plain), "1.20× the cost of plain (rounds 1.00–1.50)");
  });

  it("says 'faster than' with the spread in the same direction, and turns a throughput's rates over", () => {
    const quick = result("quick", [0.5, 0.25, 0.4]);
    const slow = result("slow", [1, 1, 1]);
    assert.equal(ratio(benchCase("quick", true), quick, slow), "2.50× faster than slow (rounds 2.00–4.00)");
    // M msg/s: higher is better, so 20 against 10 is twice as fast.
    const rate = result("rate", [20, 30, 10]);
    const floor = result("floor", [10, 10, 10]);
    assert.equal(ratio(benchCase("rate", false), rate, floor), "2.00× faster than floor (rounds 1.00–3.00)");
  });

  it("quotes no spread for a single round, and shows every ratio and the note in the table's last column", () => {
    assert.equal(ratio(benchCase("a", true), result("a", [3]), result("b", [1])), "3.00× the cost of b");
    const rows = table([{ ...benchCase("a", true, ["b"]), note: "what a measures" }, benchCase("b", true)], [result("a", [2, 4, 3]), result("b", [1, 2, 1])]);
    assert.match(rows[1]!, /^a +µs\/op +3\.00 +2\.00–4\.00 .* 2\.00× the cost of b \(rounds 2\.00–3\.00\); what a measures$/);
  });
});
