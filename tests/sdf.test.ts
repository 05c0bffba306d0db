// The .system parser and checker: every real Microkit file passes, every invalid one fails with Microkit's
// message at the right line and column, one fixture per further rule, and mutated files never crash it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatDiagnostic } from "../src/index.ts";
import { loadSystemFile, parseNumber, parseSystem, unsupportedFeatures } from "../src/sdf/index.ts";
import { testsDir } from "./helpers.ts";

const fixtures = join(testsDir, "fixtures/sdf");
const systemFiles = (dir: string) => readdirSync(join(fixtures, dir)).filter((f) => f.endsWith(".system"));

/** The first diagnostic as `line:col: severity: message`. */
function firstError(dir: string, file: string): string {
  const result = loadSystemFile(join(fixtures, dir, file), file);
  if (result.ok) assert.fail(`${file} was accepted`);
  const d = result.diagnostics.find((x) => x.severity === "error");
  assert.ok(d?.location !== undefined, `${file}: an error without a location`);
  return formatDiagnostic(d).slice(file.length + 1);
}

describe("valid systems", () => {
  for (const file of systemFiles("valid")) {
    test(`${file} passes`, () => {
      const result = loadSystemFile(join(fixtures, "valid", file), file);
      assert.ok(result.ok, result.ok ? "" : result.diagnostics.map(formatDiagnostic).join("\n"));
    });
  }

  test("the tutorial's ipc.system reads as written", () => {
    const result = loadSystemFile(join(fixtures, "valid/ipc.system"), "ipc.system");
    assert.ok(result.ok);
    const { system } = result;
    assert.deepEqual(
      system.protectionDomains.map((pd) => [pd.name, pd.priority, pd.program, pd.location?.line, pd.location?.column]),
      [
        ["client", 100, "microkit-ipc-client.elf", 8, 5],
        ["server", 200, "microkit-ipc-server.elf", 12, 5],
      ],
    );
    assert.deepEqual(
      system.channels[0]?.ends.map((e) => [e.pd, e.id, e.pp]),
      [
        ["client", 13, true],
        ["server", 37, undefined],
      ],
    );
  });

  test("child PDs, maps, regions and the domain schedule are read", () => {
    const hierarchy = loadSystemFile(join(fixtures, "valid/hierarchy.system"));
    assert.ok(hierarchy.ok);
    assert.deepEqual(
      hierarchy.system.protectionDomains[0]?.children?.map((c) => [c.name, c.id, c.priority]),
      [
        ["crasher", 1, 253],
        ["hello", 2, 1],
      ],
    );
    const setvar = loadSystemFile(join(fixtures, "valid/setvar.system"));
    assert.ok(setvar.ok);
    assert.deepEqual(setvar.system.memoryRegions?.find((r) => r.name === "pl011"), {
      name: "pl011",
      size: 0x1000,
      pageSize: undefined,
      physAddr: 0x900_0000,
      prefillPath: undefined,
      location: setvar.system.memoryRegions?.find((r) => r.name === "pl011")?.location,
    });
    assert.equal(setvar.system.protectionDomains[0]?.maps?.[0]?.setvarVaddr, "mr_with_paddr_vaddr");
    const domains = loadSystemFile(join(fixtures, "valid/domains.system"));
    assert.ok(domains.ok);
    assert.deepEqual(
      domains.system.domainSchedule?.map((e) => [e.name, e.length]),
      [
        ["monitor", 6000],
        ["emitter", 8000],
        ["collector", 2000],
      ],
    );
  });
});

describe("invalid systems: Microkit's message at the element it blames", () => {
  const expected: Record<string, string> = {
    "ch_bidirectional_ppc.system": "14:5: error: cannot ppc bidirectionally (element 'channel')",
    "ch_id_greater_than_max.system": "15:9: error: id must be < 62 (element 'end')",
    "ch_ppcall_priority.system":
      "15:5: error: PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd test1 (priority: 2) to pd test2 (priority: 1)",
    "ch_not_enough_ends.system": "15:5: error: exactly two end elements must be specified (element 'channel')",
    "ch_invalid_pd.system": "15:9: error: invalid PD name 'invalidpd' (element 'end')",
    "sys_duplicate_pd_name.system": "11:5: error: duplicate protection domain name 'test'. (first defined at sys_duplicate_pd_name.system:8:5)",
    "pd_budget_gt_period.system": "8:5: error: budget (1000) must be less than, or equal to, period (100) (element 'protection_domain')",
    "sys_map_invalid_mr.system": "15:9: error: invalid memory region name 'foos' on 'map'",
  };
  test("every invalid fixture has an expectation", () => {
    assert.deepEqual(systemFiles("invalid").sort(), Object.keys(expected).sort());
  });
  for (const [file, message] of Object.entries(expected)) {
    test(file, () => {
      assert.equal(firstError("invalid", file), message);
    });
  }
});

describe("one fixture per further rule", () => {
  const expected: Record<string, string> = {
    unknown_attribute: "3:5: error: invalid attribute 'colour' (element 'protection_domain')",
    unknown_element: "5:9: error: invalid XML element 'thread' (element 'protection_domain')",
    text_in_element: "4:9: error: unexpected text 'hello' (element 'protection_domain')",
    malformed_xml: "6:1: error: malformed XML:",
    missing_attribute: "3:5: error: missing required attribute 'name' (element 'protection_domain')",
    missing_program_image: "3:5: error: missing 'program_image' element on protection_domain (element 'protection_domain')",
    bad_boolean: "3:5: error: passive must be 'true' or 'false', got 'yes' (element 'protection_domain')",
    bad_number: "3:5: error: failed to parse '1__0' as an integer",
    end_id_hex: "6:9: error: failed to parse '0x1' as a decimal integer for attribute 'id' (element 'end')",
    priority_out_of_range: "3:5: error: priority must be between 0 and 254, got 255 (element 'protection_domain')",
    name_too_long: "3:5: error: name 'a_protection_dom...' is 67 characters; it must be at most 64",
    name_monitor_reserved: "3:5: error: the name 'monitor' is reserved for the Microkit monitor (element 'protection_domain')",
    duplicate_channel_id: "10:9: error: duplicate channel id: 3 in protection domain: 'a' (first defined at duplicate_channel_id.system:6:9)",
    irq_id_clashes_with_channel: "9:9: error: duplicate channel id: 1 in protection domain: 'a' (first defined at irq_id_clashes_with_channel.system:5:9)",
    duplicate_memory_region: "4:5: error: duplicate memory region name 'buf'. (first defined at duplicate_memory_region.system:3:5)",
    region_size_not_page_multiple: "3:5: error: size (0x1001) must be a non-zero multiple of the page size (0x1000) (element 'memory_region')",
    map_perms_write_only: "6:9: error: perms must only be a combination of 'r', 'w', and 'x' and not 'w' alone, got 'w' (element 'map')",
    stack_size_out_of_range: "3:5: error: stack size must be a multiple of 0x1000 between 0x1000 and 0x100000 bytes, got 0x100",
    duplicate_child_id: "6:9: error: duplicate id: 1 for child protection domains 'one' and 'two' of 'parent'",
  };
  test("every rule fixture has an expectation", () => {
    const withErrors = systemFiles("rules").filter((f) => !["legacy_pp_on_protection_domain.system", "virtual_machine_unsupported.system"].includes(f));
    assert.deepEqual(withErrors.map((f) => f.replace(/\.system$/, "")).sort(), Object.keys(expected).sort());
  });
  for (const [rule, message] of Object.entries(expected)) {
    test(rule, () => {
      assert.ok(firstError("rules", `${rule}.system`).startsWith(message), firstError("rules", `${rule}.system`));
    });
  }

  test("pp on protection_domain (pre-2.0) is accepted with a located warning and moved to the calling end", () => {
    const result = loadSystemFile(join(fixtures, "rules/legacy_pp_on_protection_domain.system"), "legacy.system");
    assert.ok(result.ok);
    assert.deepEqual(result.warnings.map(formatDiagnostic), [
      "legacy.system:6:5: warning: pp on 'protection_domain' is deprecated since Microkit 2.0: put pp=\"true\" on the calling '<end>' of each channel (translated for PD 'server')",
    ]);
    assert.deepEqual(
      result.system.channels[0]?.ends.map((e) => [e.pd, e.pp]),
      [
        ["client", true],
        ["server", undefined],
      ],
    );
  });

  test("virtual_machine and cspace pass check with a warning; run refuses them with a located error", () => {
    const vm = loadSystemFile(join(fixtures, "rules/virtual_machine_unsupported.system"), "vm.system");
    assert.ok(vm.ok);
    assert.deepEqual(vm.warnings.map(formatDiagnostic), ["vm.system:5:9: warning: 'virtual_machine' is parsed but not supported by isokit run (element 'virtual_machine')"]);
    assert.deepEqual(unsupportedFeatures(vm.system).map(formatDiagnostic), [
      "vm.system:5:9: error: 'virtual_machine' is not supported by isokit: worker-thread PDs have no virtual CPUs",
    ]);
    const cspace = loadSystemFile(join(fixtures, "valid/cap_sharing.system"), "cap_sharing.system");
    assert.ok(cspace.ok);
    assert.equal(unsupportedFeatures(cspace.system).length, 1);
  });
});

describe("numbers", () => {
  test("decimal, 0x hex and _ between digits; end ids decimal only", () => {
    const table: [string, boolean, number | undefined][] = [
      ["0", false, 0],
      ["4096", false, 4096],
      ["1_000", false, 1000],
      ["0x1000", false, 0x1000],
      ["0x900_0000", false, 0x900_0000],
      ["0xFFff", false, 0xffff],
      ["0x", false, undefined],
      ["", false, undefined],
      ["1__0", false, undefined],
      ["_1", false, undefined],
      ["1_", false, undefined],
      ["-1", false, undefined],
      ["1.5", false, undefined],
      [" 1", false, undefined],
      ["0x10", true, undefined],
      ["12", true, 12],
      ["99999999999999999999", false, undefined],
    ];
    for (const [raw, decimalOnly, value] of table) assert.equal(parseNumber(raw, decimalOnly), value, `${raw} (decimalOnly=${decimalOnly})`);
  });
});

describe("robustness", () => {
  const sources = [...systemFiles("valid").map((f) => join(fixtures, "valid", f)), ...systemFiles("invalid").map((f) => join(fixtures, "invalid", f))].map((p) =>
    readFileSync(p, "utf8"),
  );

  test("mutated files never crash the checker: a system or located errors, always", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom("<", ">", '"', "=", "/", "<end/>", ' pp="true"', ' id="99"', " x=\"1\"", "&", "\u0000", "0x") }),
      fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...sources), fc.array(mutation, { minLength: 1, maxLength: 4 }), (source, mutations) => {
        let text = source;
        for (const m of mutations) {
          const at = m.at % (text.length + 1);
          if (m.kind === "delete") text = text.slice(0, at) + text.slice(at + m.length);
          else if (m.kind === "insert") text = text.slice(0, at) + m.text + text.slice(at);
          else if (m.kind === "duplicate") text = text.slice(0, at) + text.slice(at, at + m.length) + text.slice(at);
          else text = text.slice(0, at);
        }
        const result = parseSystem(text, "mutated.system");
        if (result.ok) return;
        assert.ok(result.diagnostics.length > 0);
        for (const d of result.diagnostics) {
          assert.ok(d.location !== undefined, `unlocated: ${d.message}`);
          assert.ok(d.location.line >= 1 && d.location.column >= 1);
        }
      }),
      { numRuns: 1500, seed: 424242 },
    );
  });
});
