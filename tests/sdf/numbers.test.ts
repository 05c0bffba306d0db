// Numbers: decimal, 0x hex, `_` between digits; ids decimal only. Tables keyed by the exact text.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { parseNumber, parseSystem, readDecimal, readNumber } from "../../src/sdf/index.ts";

describe("readNumber: attribute values such as size, vaddr, priority, phys_addr", () => {
  const accepted: [string, number][] = [
    ["0", 0],
    ["4096", 4096],
    ["007", 7],
    ["1_000", 1000],
    ["0x1000", 0x1000],
    ["0x1_000", 0x1000],
    ["0x900_0000", 0x900_0000],
    ["0x2_000_000", 0x200_0000],
    ["0xFFff", 0xffff],
    ["9007199254740991", Number.MAX_SAFE_INTEGER],
    ["0x1f_ffff_ffff_ffff", Number.MAX_SAFE_INTEGER],
    // Up to 2^64 - 1, as Microkit; above 2^53 - 1 as the nearest double (exact for these).
    ["9007199254740992", 2 ** 53],
    ["0x1000_0000_0000_0000", 2 ** 60],
    ["0xffff_ffff_ffff_f000", 2 ** 64 - 0x1000],
  ];
  for (const [raw, value] of accepted) {
    test(`'${raw}' is ${value}`, () => {
      assert.deepEqual(readNumber(raw), { ok: true, value });
      assert.equal(parseNumber(raw), value);
    });
  }

  const refused: [string, string][] = [
    ["", "cannot parse integer from empty string"],
    ["0x", "cannot parse integer from empty string"],
    // Microkit deletes every `_` first and would take these; isokit wants one `_` between two digits.
    ["1__0", "'_' must sit between two digits"],
    ["_1", "'_' must sit between two digits"],
    ["1_", "'_' must sit between two digits"],
    ["0x_10", "'_' must sit between two digits"],
    ["_", "'_' must sit between two digits"],
    ["-1", "invalid digit found in string"],
    ["+1", "invalid digit found in string"],
    ["1.5", "invalid digit found in string"],
    [" 1", "invalid digit found in string"],
    ["1 ", "invalid digit found in string"],
    ["0X10", "invalid digit found in string"],
    ["0x1g", "invalid digit found in string"],
    ["1e3", "invalid digit found in string"],
    ["ten", "invalid digit found in string"],
    ["0x200_000sd", "invalid digit found in string"],
    ["18446744073709551616", "number too large to fit in target type"],
    ["0x1_0000_0000_0000_0000", "number too large to fit in target type"],
  ];
  for (const [raw, reason] of refused) {
    test(`'${raw}' is refused: ${reason}`, () => {
      assert.deepEqual(readNumber(raw), { ok: false, reason });
      assert.equal(parseNumber(raw), undefined);
    });
  }
});

describe("readDecimal: end id, irq id, irq number (Rust str::parse in Microkit: no hex, no '_')", () => {
  const table: [string, ReturnType<typeof readDecimal>][] = [
    ["12", { ok: true, value: 12 }],
    ["0", { ok: true, value: 0 }],
    ["-1", { ok: true, value: -1 }],
    ["-0", { ok: true, value: 0 }],
    ["0x10", { ok: false, reason: "hex is not allowed here, write it in decimal" }],
    ["1_0", { ok: false, reason: "invalid digit found in string" }],
    ["+1", { ok: false, reason: "invalid digit found in string" }],
    ["", { ok: false, reason: "cannot parse integer from empty string" }],
  ];
  for (const [raw, result] of table) {
    test(`'${raw}'`, () => {
      assert.deepEqual(readDecimal(raw), result);
    });
  }
  test("parseNumber with decimalOnly refuses hex and negatives", () => {
    assert.equal(parseNumber("12", true), 12);
    assert.equal(parseNumber("0x10", true), undefined);
    assert.equal(parseNumber("-1", true), undefined);
  });
});

describe("in a file", () => {
  const system = (pd: string, channel = ""): string =>
    `<system>\n  <memory_region name="buf" size="0x1_000" />\n  ${pd}\n  <protection_domain name="b" priority="3"><program_image path="b.elf"/></protection_domain>\n${channel}</system>\n`;

  test("hex and '_' where Microkit takes them: sizes, vaddrs, priorities, child ids", () => {
    const result = parseSystem(
      system(
        `<protection_domain name="a" priority="0x2" stack_size="0x2_000"><program_image path="a.elf"/><map mr="buf" vaddr="0x2_000_000"/>` +
          `<protection_domain name="c" id="0x3"><program_image path="c.elf"/></protection_domain></protection_domain>`,
      ),
      "n.system",
    );
    assert.ok(result.ok, result.ok ? "" : result.diagnostics.map(formatDiagnostic).join("\n"));
    const a = result.system.protectionDomains[0];
    assert.deepEqual([a?.priority, a?.stackSize, a?.maps?.[0]?.vaddr, a?.children?.[0]?.id], [2, 0x2000, 0x200_0000, 3]);
    assert.equal(result.system.memoryRegions?.[0]?.size, 0x1000);
  });

  test("an end id in hex is refused at the <end>, with the reason", () => {
    const result = parseSystem(
      system(`<protection_domain name="a" priority="1"><program_image path="a.elf"/></protection_domain>`, `  <channel><end pd="a" id="0x1"/><end pd="b" id="1"/></channel>\n`),
      "n.system",
    );
    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
      "n.system:5:12: error: failed to parse integer '0x1' on element 'end': hex is not allowed here, write it in decimal",
    ]);
  });

  test("an irq number in hex is refused too (Microkit's parse::<u64> would panic on it)", () => {
    const result = parseSystem(system(`<protection_domain name="a"><program_image path="a.elf"/><irq irq="0x21" id="1"/></protection_domain>`), "n.system");
    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
      "n.system:3:60: error: failed to parse integer '0x21' on element 'irq': hex is not allowed here, write it in decimal",
    ]);
  });
});
