// Mutated real files never crash the checker: every run ends in a system that passes checkSystem, or in at
// least one error, every diagnostic located inside the file, in order. Plus a few hand-made hostile inputs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Diagnostic } from "../../src/errors.ts";
import { ARCHES, allProtectionDomains, checkSystem, kernelConfig, parseSystem, type ParseResult } from "../../src/sdf/index.ts";
import { read, systemFiles } from "./support.ts";

const sources = [
  ...systemFiles("valid").map((f) => read("valid", f)),
  ...systemFiles("invalid").map((f) => read("invalid", f)),
  ...["legacy_pp_on_protection_domain", "virtual_machine_unsupported", "x86_interrupts_unsupported", "duplicate_child_id", "map_overlap"].map((r) =>
    read("rules", `${r}.system`),
  ),
];

/** Microkit's suite: the x86 interrupt kinds, I/O ports, IOMMU, cspace, virtual machines and domains. */
const suiteSources = systemFiles("microkit-suite").map((f) => read("microkit-suite", f));

/** Values an attribute might be changed to: plausible, out of range, and junk. */
const values = fc.oneof(
  fc.constantFrom("", "0", "1", "-1", "62", "254", "255", "0x", "0x1000", "0x1001", "1__0", "_", "true", "false", "yes", "w", "rwx", "rq", "test1", "monitor", "edge", "1000 us", "&amp;", "x".repeat(70)),
  fc.string({ maxLength: 6 }),
);

/** Fragments a careless edit might leave behind. */
const fragments = fc.constantFrom("<", ">", "/>", '"', "'", "=", "&", "<end/>", "<end pd=\"test1\" id=\"1\"/>", ' pp="true"', ' id="99"', ' x="1"', "</channel>", "<channel>", "<![CDATA[x]]>", "<!--", "\u0000", "😀", "\r");

type Mutation =
  | { kind: "delete" | "duplicate"; at: number; length: number }
  | { kind: "swap" | "truncate"; at: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "value"; nth: number; value: string }
  | { kind: "drop"; nth: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom("delete" as const, "duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ kind: fc.constantFrom("swap" as const, "truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fragments }),
  fc.record({ kind: fc.constant("value" as const), nth: fc.nat(), value: values }),
  fc.record({ kind: fc.constant("drop" as const), nth: fc.nat() }),
);

function apply(text: string, m: Mutation): string {
  switch (m.kind) {
    case "delete": {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + m.length);
    }
    case "duplicate": {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at, at + m.length) + text.slice(at);
    }
    case "swap": {
      if (text.length < 2) return text;
      const at = m.at % (text.length - 1);
      return text.slice(0, at) + text.charAt(at + 1) + text.charAt(at) + text.slice(at + 2);
    }
    case "truncate":
      return text.slice(0, m.at % (text.length + 1));
    case "insert": {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case "value": {
      // Replace the value of the nth attribute (quotes kept, so the file stays well formed unless the value says otherwise).
      const all = [...text.matchAll(/(\w+)="([^"]*)"/g)];
      const target = all[m.nth % Math.max(1, all.length)];
      if (target === undefined) return text;
      const start = target.index + target[1]!.length + 2;
      return text.slice(0, start) + m.value.replaceAll('"', "") + text.slice(start + target[2]!.length);
    }
    case "drop": {
      // Drop the nth element: a self-closing one whole, or just the start tag of one with content.
      const all = [...text.matchAll(/<[a-z_]+\b[^>]*>/g)];
      const target = all[m.nth % Math.max(1, all.length)];
      if (target === undefined) return text;
      return text.slice(0, target.index) + text.slice(target.index + target[0].length);
    }
  }
}

function assertWellFormedResult(text: string, result: ParseResult): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  const check = (d: Diagnostic): void => {
    assert.ok(d.location !== undefined, `unlocated: ${d.message}`);
    assert.equal(d.location.file, "m.system");
    assert.ok(d.location.line >= 1 && d.location.line <= lines, `line ${d.location.line} of ${lines}: ${d.message}`);
    assert.ok(Number.isInteger(d.location.column) && d.location.column >= 1, `column ${d.location.column}: ${d.message}`);
    assert.ok(d.message.length > 0);
  };
  const list = result.ok ? result.warnings : result.diagnostics;
  list.forEach(check);
  for (let i = 1; i < list.length; i++) {
    const [a, b] = [list[i - 1]!.location!, list[i]!.location!];
    assert.ok(a.line < b.line || (a.line === b.line && a.column <= b.column), "diagnostics out of order");
  }
  if (result.ok) {
    assert.ok(result.warnings.every((w) => w.severity === "warning"));
    assert.deepEqual(
      checkSystem(result.system).filter((d) => d.severity === "error"),
      [],
    );
    // Every element-derived object carries its location.
    const { system } = result;
    for (const { pd } of allProtectionDomains(system)) {
      assert.ok(pd.location !== undefined);
      for (const o of [...(pd.maps ?? []), ...(pd.irqs ?? []), ...(pd.setvars ?? [])]) assert.ok(o.location !== undefined);
    }
    for (const c of system.channels) assert.ok(c.location !== undefined && c.ends.every((e) => e.location !== undefined));
    for (const r of system.memoryRegions ?? []) assert.ok(r.location !== undefined);
  } else {
    assert.ok(result.diagnostics.some((d) => d.severity === "error"));
  }
}

describe("robustness", () => {
  test("mutated files: a system or located errors, always, and the same answer twice", () => {
    fc.assert(
      fc.property(fc.constantFrom(...sources), fc.array(mutation, { minLength: 1, maxLength: 5 }), (source, mutations) => {
        const text = mutations.reduce(apply, source);
        const result = parseSystem(text, "m.system");
        assertWellFormedResult(text, result);
        assert.deepEqual(parseSystem(text, "m.system"), result);
      }),
      // A hang guard, not a benchmark: the 1,500 runs take well under a second; a quadratic blow-up or a loop
      // that never ends fails here instead of stalling CI.
      { numRuns: 1500, interruptAfterTimeLimit: 10_000, markInterruptAsFailure: true },
    );
  });

  test("mutated suite files under every architecture and odd kernel configurations: the same guarantees", () => {
    const config = fc.record({
      arch: fc.constantFrom(...ARCHES),
      numCores: fc.constantFrom(1, 4),
      iommu: fc.boolean(),
      hypervisor: fc.boolean(),
      numDomains: fc.constantFrom(1, 16),
      numDomainSchedules: fc.constantFrom(1, 100),
    });
    fc.assert(
      fc.property(fc.constantFrom(...suiteSources), fc.array(mutation, { maxLength: 4 }), config, (source, mutations, overrides) => {
        const text = mutations.reduce(apply, source);
        const options = { config: kernelConfig(overrides.arch, overrides), prefillSize: (path: string) => (path === "empty.bin" ? 0 : path.length * 1000) };
        const result = parseSystem(text, "m.system", options);
        assertWellFormedResult(text, result);
        assert.deepEqual(parseSystem(text, "m.system", options), result);
      }),
      // A hang guard, as above.
      { numRuns: 1500, interruptAfterTimeLimit: 10_000, markInterruptAsFailure: true },
    );
  });

  test("arbitrary text, including markup-like noise", () => {
    const noise = fc.array(fc.oneof(fragments, fc.string({ maxLength: 4 }), fc.constantFrom("<system>", "</system>", "<protection_domain name=\"a\">", "</protection_domain>", "<program_image path=\"a\"/>")), { maxLength: 30 });
    fc.assert(
      fc.property(noise, (parts) => {
        const text = parts.join("");
        assertWellFormedResult(text, parseSystem(text, "m.system"));
      }),
      { numRuns: 500, interruptAfterTimeLimit: 10_000, markInterruptAsFailure: true },
    );
  });

  test("protection domains nested 5,000 deep: one located error, no stack overflow", () => {
    const depth = 5000;
    const text = `<system>${'<protection_domain name="p" id="1"><program_image path="p"/>'.repeat(depth)}${"</protection_domain>".repeat(depth)}</system>`.replace(
      '<protection_domain name="p" id="1">',
      '<protection_domain name="p">',
    );
    const result = parseSystem(text, "m.system");
    assert.ok(!result.ok);
    assertWellFormedResult(text, result);
    assert.equal(result.diagnostics.filter((d) => d.message.startsWith("too many protection domains")).length, 1);
  });

  test("unknown elements nested 100,000 deep and 20,000 elements on one line", { timeout: 20_000 }, () => {
    const deep = `<system>${"<x>".repeat(100_000)}${"</x>".repeat(100_000)}</system>`;
    const deepResult = parseSystem(deep, "m.system");
    assert.ok(!deepResult.ok);
    // The reader does not descend into an element it does not know, and rules wait for a clean read.
    assert.deepEqual(
      deepResult.diagnostics.map((d) => [d.message, d.location?.column]),
      [["invalid XML element 'x'", 9]],
    );
    const wide = `<system>${'<memory_region name="r" size="0x1000"/>'.repeat(20_000)}</system>`;
    const wideResult = parseSystem(wide, "m.system");
    assert.ok(!wideResult.ok);
    assertWellFormedResult(wide, wideResult);
    assert.equal(wideResult.diagnostics.at(-1)?.location?.column, 9 + 39 * 19_999);
  });
});
