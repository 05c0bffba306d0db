// Real Microkit files pass; Microkit's own invalid files fail with Microkit's message at the element it blames;
// one fixture per further rule, each with its exact message and location.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { checkSystem, kernelConfig, loadSystemFile, parseSystem, unsupportedFeatures } from "../../src/sdf/index.ts";
import { fixtures, formatted, parseFixture, read, systemFiles } from "./support.ts";

describe("valid: seL4/microkit examples and the seL4 Rust tutorial", () => {
  test("the copies are all there", () => {
    assert.deepEqual(systemFiles("valid"), [
      "cap_sharing.system",
      "domains.system",
      "ethernet.system",
      "hello.system",
      "hierarchy.system",
      "ipc.system",
      "mr_prefill.system",
      "passive_server.system",
      "rust.system",
      "setvar.system",
      "shared-memory.system",
      "timer.system",
    ]);
  });

  for (const file of systemFiles("valid")) {
    test(`${file} parses with no errors and passes checkSystem again`, () => {
      const result = parseFixture("valid", file);
      assert.ok(result.ok, formatted(result).join("\n"));
      assert.ok(
        result.warnings.every((w) => w.severity === "warning" && w.location !== undefined),
        formatted(result).join("\n"),
      );
      assert.deepEqual(
        checkSystem(result.system).filter((d) => d.severity === "error"),
        [],
      );
    });
  }

  test("ipc.system reads as written: program images kept, locations at each '<'", () => {
    const result = parseFixture("valid", "ipc.system");
    assert.ok(result.ok);
    const { system } = result;
    assert.deepEqual(
      system.protectionDomains.map((pd) => [pd.name, pd.priority, pd.program, pd.location?.line, pd.location?.column]),
      [
        ["client", 100, "microkit-ipc-client.elf", 8, 5],
        ["server", 200, "microkit-ipc-server.elf", 12, 5],
      ],
    );
    const channel = system.channels[0];
    assert.deepEqual([channel?.location?.line, channel?.location?.column], [16, 5]);
    assert.deepEqual(
      channel?.ends.map((e) => [e.pd, e.id, e.pp, e.location?.line, e.location?.column]),
      [
        ["client", 13, true, 17, 9],
        ["server", 37, undefined, 18, 9],
      ],
    );
    assert.deepEqual(result.warnings, []);
  });

  test("children, maps, regions, setvars and domains are read with their values", () => {
    const hierarchy = parseFixture("valid", "hierarchy.system");
    assert.ok(hierarchy.ok);
    assert.deepEqual(
      hierarchy.system.protectionDomains[0]?.children?.map((c) => [c.name, c.id, c.priority, c.location?.line]),
      [
        ["crasher", 1, 253, 10],
        ["hello", 2, 1, 13],
      ],
    );

    const setvar = parseFixture("valid", "setvar.system");
    assert.ok(setvar.ok);
    const pl011 = setvar.system.memoryRegions?.find((r) => r.name === "pl011");
    assert.deepEqual({ ...pl011, location: undefined }, {
      name: "pl011",
      size: 0x1000,
      pageSize: undefined,
      physAddr: 0x900_0000,
      prefillPath: undefined,
      location: undefined,
    });
    assert.deepEqual([pl011?.location?.line, pl011?.location?.column], [9, 5]);
    const pd = setvar.system.protectionDomains[0];
    assert.equal(pd?.maps?.[0]?.setvarVaddr, "mr_with_paddr_vaddr");
    assert.deepEqual(
      pd.setvars?.map((s) => [s.symbol, s.regionPaddr]),
      [
        ["mr_with_paddr_paddr", "mr_with_paddr"],
        ["small_mr_no_paddr_paddr", "small_mr_no_paddr"],
        ["large_mr_no_paddr_paddr", "large_mr_no_paddr"],
        ["pl011_paddr", "pl011"],
      ],
    );

    const prefill = parseFixture("valid", "mr_prefill.system");
    assert.ok(prefill.ok);
    assert.deepEqual(
      [prefill.system.memoryRegions?.[0]?.prefillPath, prefill.system.memoryRegions?.[0]?.size, prefill.system.protectionDomains[0]?.maps?.[0]?.setvarPrefillSize],
      ["fill.bin", 0, "filled_mr_data_size"],
    );

    const domains = parseFixture("valid", "domains.system");
    assert.ok(domains.ok);
    assert.deepEqual(
      domains.system.domains?.map((d) => [d.name, d.id]),
      [
        ["monitor", 0],
        ["emitter", 1],
        // Without an id, the lowest free one (Microkit numbers domains so).
        ["collector", 2],
      ],
    );
    assert.deepEqual(
      domains.system.domainSchedule?.map((e) => [e.name, e.length, e.unit]),
      [
        ["monitor", 6000, "us"],
        ["emitter", 8000, "us"],
        ["collector", 2000, "us"],
      ],
    );
    assert.deepEqual(
      domains.system.protectionDomains.map((p) => p.domain),
      ["emitter", "collector"],
    );
    assert.equal(domains.system.channels[0]?.ends[1].notify, false);
  });

  test("cap_sharing.system passes check with a located warning; run refuses its cspace", () => {
    const result = parseFixture("valid", "cap_sharing.system");
    assert.ok(result.ok);
    assert.deepEqual(formatted(result), [
      "cap_sharing.system:11:9: warning: 'cspace' is not supported by isokit: worker-thread PDs have no seL4 capabilities to hand out (cap_tcb, cap_sc, cap_vspace) (parsed and checked; 'isokit run' refuses it)",
    ]);
    assert.deepEqual(unsupportedFeatures(result.system).map(formatDiagnostic), [
      "cap_sharing.system:11:9: error: 'cspace' is not supported by isokit: worker-thread PDs have no seL4 capabilities to hand out (cap_tcb, cap_sc, cap_vspace)",
    ]);
  });
});

describe("invalid: seL4/microkit tool/microkit/tests/sdf, Microkit's message at the element it blames", () => {
  /** `| file | message |` rows of EXPECTED.md (Microkit's own words, copied from its tests). */
  const microkit = new Map(
    read("invalid", "EXPECTED.md")
      .split("\n")
      .map((line) => /^\| (\S+\.system) \| (.+) \|$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  // Read off each file: the `<` of the element Microkit's message is about.
  const where: Record<string, string> = {
    "ch_bidirectional_ppc.system": "14:5", // <channel>
    "ch_id_greater_than_max.system": "15:9", // <end pd="test1" id="63"/>
    "ch_invalid_pd.system": "15:9", // <end pd="invalidpd" ...>
    "ch_not_enough_ends.system": "15:5", // <channel> with one <end>
    "ch_ppcall_priority.system": "15:5", // <channel> (the PPC from test1 to test2)
    "pd_budget_gt_period.system": "8:5", // <protection_domain name="test" budget="1000" period="100">
    "sys_duplicate_pd_name.system": "11:5", // the second <protection_domain name="test">
    "sys_map_invalid_mr.system": "15:9", // <map mr="foos" ...>
  };

  test("EXPECTED.md covers every invalid file, and so does this test", () => {
    assert.deepEqual([...microkit.keys()].sort(), systemFiles("invalid"));
    assert.deepEqual(Object.keys(where).sort(), systemFiles("invalid"));
  });

  for (const file of systemFiles("invalid")) {
    test(file, () => {
      const result = parseFixture("invalid", file);
      assert.ok(!result.ok, `${file} was accepted`);
      const [first] = result.diagnostics;
      assert.ok(first?.location !== undefined);
      assert.equal(first.severity, "error");
      assert.ok(first.message.startsWith(microkit.get(file)!), `message: ${first.message}\nMicrokit: ${microkit.get(file)!}`);
      assert.equal(`${first.location.line}:${first.location.column}`, where[file]);
      assert.equal(first.location.file, file);
    });
  }

  test("a duplicate says where the first one was; the PPC rule names both PDs and priorities", () => {
    assert.deepEqual(formatted(parseFixture("invalid", "sys_duplicate_pd_name.system")), [
      "sys_duplicate_pd_name.system:11:5: error: duplicate protection domain name 'test'. (first defined at sys_duplicate_pd_name.system:8:5)",
    ]);
    assert.deepEqual(formatted(parseFixture("invalid", "ch_ppcall_priority.system")), [
      "ch_ppcall_priority.system:15:5: error: PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd test1 (priority: 2) to pd test2 (priority: 1)",
    ]);
  });
});

/** A rule fixture, checked for x86-64 when its name says so (the x86 interrupt kinds and I/O ports exist only there). */
function parseRule(file: string): ReturnType<typeof parseFixture> {
  return file.startsWith("x86_") ? parseSystem(read("rules", file), file, { config: kernelConfig("x86_64") }) : parseFixture("rules", file);
}

describe("one fixture per further rule: every diagnostic, exactly", () => {
  const fails: Record<string, string[]> = {
    // ---- reading elements ----
    bad_boolean: ["3:5: error: passive must be 'true' or 'false' on element 'protection_domain'"],
    bad_number: ["3:5: error: failed to parse integer '1__0' on element 'protection_domain': '_' must sit between two digits"],
    end_id_hex: ["6:9: error: failed to parse integer '0x1' on element 'end': hex is not allowed here, write it in decimal"],
    end_id_negative: ["6:9: error: id must be >= 0 on element 'end'"],
    channel_three_ends: ["5:5: error: exactly two end elements must be specified on element 'channel'"],
    unknown_attribute: ["3:5: error: invalid attribute 'colour' on element 'protection_domain'"],
    unknown_element: ["5:9: error: invalid XML element 'thread'"],
    text_in_element: ["3:33: error: unexpected text found in element 'protection_domain' @ text_in_element.system:3:5"],
    malformed_xml: ["6:1: error: Could not parse 'malformed_xml.system': disallowed character in closing tag."],
    missing_attribute: ["3:5: error: Missing required attribute 'name' on element 'protection_domain'"],
    missing_program_image: ["3:5: error: missing 'program_image' element on protection_domain: 'a'"],
    duplicate_program_image: ["3:5: error: program_image must only be specified once on element 'protection_domain'"],
    irq_invalid_trigger: ["5:9: error: trigger must be either 'level' or 'edge' on element 'irq'"],
    irq_missing_irq: ["5:9: error: Missing required attribute 'irq' on element 'irq'"],
    region_missing_size: ["3:5: error: size must be specified if memory region is not prefilled on element 'memory_region'"],
    virtual_machine_top_level: ["6:5: error: virtual machine must be a child of a protection domain"],
    domain_duration_without_unit: ["6:13: error: The duration '1000' must contain a value and a unit, e.g. '1000 us' on element 'schedule_entry'"],
    cspace_slot_zero: [
      "5:9: warning: 'cspace' is not supported by isokit: worker-thread PDs have no seL4 capabilities to hand out (cap_tcb, cap_sc, cap_vspace) (parsed and checked; 'isokit run' refuses it)",
      "6:13: error: The destination slot 0 has been reserved for Microkit CNode on element 'cap_tcb'",
    ],
    // ---- rules between elements ----
    no_protection_domains: ["2:1: error: at least one protection domain must be defined"],
    too_many_pds: ["66:5: error: too many protection domains (64) defined. Maximum is 63."],
    name_too_long: ["3:5: error: name 'a_protection_dom...' is 67 characters; it must be at most 64 on element 'protection_domain'"],
    name_monitor_reserved: ["3:5: error: the name 'monitor' is reserved for the Microkit monitor on element 'protection_domain'"],
    priority_out_of_range: ["3:5: error: priority must be between 0 and 254 on element 'protection_domain'"],
    stack_size_out_of_range: ["3:5: error: stack size must be between 0x1000 bytes and 0x1000000 bytes on element 'protection_domain'"],
    stack_size_unaligned: ["3:5: error: stack size must be aligned to the smallest page size, 4096 bytes on element 'protection_domain'"],
    duplicate_child_id: ["6:9: error: duplicate id: 1 in protection domain: 'parent' @ duplicate_child_id.system:6:9 (child 'two' clashes with child 'one' at duplicate_child_id.system:5:9)"],
    child_id_out_of_range: ["5:9: error: id must be < 62 on element 'protection_domain'"],
    duplicate_channel_id: ["10:9: error: duplicate channel id: 3 in protection domain: 'a' @ duplicate_channel_id.system:10:9 (first defined at duplicate_channel_id.system:6:9)"],
    irq_id_clashes_with_channel: ["9:9: error: duplicate channel id: 1 in protection domain: 'a' @ irq_id_clashes_with_channel.system:9:9 (first defined at irq_id_clashes_with_channel.system:5:9)"],
    irq_id_out_of_range: ["5:9: error: id must be < 62 on element 'irq'"],
    duplicate_irq_number: ["9:9: error: duplicate irq: 33 in protection domain: 'b' @ duplicate_irq_number.system:9:9 (first used by protection domain 'a' at duplicate_irq_number.system:5:9)"],
    duplicate_memory_region: ["4:5: error: duplicate memory region name 'buf'. (first defined at duplicate_memory_region.system:3:5)"],
    region_size_not_page_multiple: ["3:5: error: size is not a multiple of the page size on element 'memory_region'"],
    region_page_size_unsupported: ["3:5: error: page size 0x3000 not supported on element 'memory_region'"],
    region_phys_addr_unaligned: ["3:5: error: phys_addr is not aligned to the page size on element 'memory_region'"],
    region_phys_overlap: [
      "4:5: error: memory region 'mr2' physical address range [0x9001000..0x9002000) overlaps with another memory region 'mr1' [0x9000000..0x9002000) @ region_phys_overlap.system:4:5 (first defined at region_phys_overlap.system:3:5)",
    ],
    map_perms_write_only: ["6:9: error: perms must not be 'w', write-only mappings are not allowed on element 'map'"],
    map_perms_invalid: ["6:9: error: perms must only be a combination of 'r', 'w', and 'x' on element 'map'"],
    map_vaddr_unaligned: ["6:9: error: invalid vaddr alignment on 'map' @ map_vaddr_unaligned.system:6:9"],
    map_overlap: [
      "8:9: error: map for 'second' has virtual address range [0x2001000..0x2003000) which overlaps with map for 'first' [0x2000000..0x2002000) in protection domain 'a' @ map_overlap.system:8:9 (first defined at map_overlap.system:7:9)",
    ],
    setvar_duplicate_symbol: ["7:9: error: setvar on symbol 'buf' already exists on element 'setvar'"],
    setvar_prefill_size_without_prefill: ["6:9: error: 'setvar_prefill_size' used for MR without a `prefill_path` @ setvar_prefill_size_without_prefill.system:6:9"],
    domain_not_declared: ["9:5: error: domain 'second' not declared in <domains>: on element 'protection_domain'"],
    domain_without_schedule: ["3:5: error: Specifying a domain 'first' without declaring a domain schedule is not allowed: on element 'protection_domain'"],
  };
  const passes: Record<string, string[]> = {
    unused_memory_region: ["3:5: warning: unused memory region 'spare'"],
    virtual_machine_unsupported: ["5:9: warning: 'virtual_machine' is not supported by isokit: worker-thread PDs have no virtual CPUs (parsed and checked; 'isokit run' refuses it)"],
    x86_interrupts_unsupported: [
      "5:9: warning: 'irq' is not supported by isokit: worker-thread PDs have no x86 interrupt controllers (I/O APIC, MSI) (parsed and checked; 'isokit run' refuses it)",
      "6:9: warning: 'irq' is not supported by isokit: worker-thread PDs have no x86 interrupt controllers (I/O APIC, MSI) (parsed and checked; 'isokit run' refuses it)",
      "7:9: warning: 'ioport' is not supported by isokit: worker-thread PDs have no x86 I/O ports (parsed and checked; 'isokit run' refuses it)",
    ],
    legacy_pp_on_protection_domain: [`6:5: warning: pp on 'protection_domain' is deprecated since Microkit 2.0: put pp="true" on the calling end of each channel instead (translated for 'server': pp="true" added to the end of 'client') (element 'protection_domain')`],
    legacy_pp_caller_not_lower: [
      `3:5: warning: pp on 'protection_domain' is deprecated since Microkit 2.0: put pp="true" on the calling end of each channel instead (translated for 'server': no channel end gained pp) (element 'protection_domain')`,
      `9:5: warning: pp="true" on protection_domain 'server' gives 'client' no protected call on this channel: Microkit 2.x allows a PPC only to a strictly higher priority, and 'client' (priority: 200) is not below 'server' (priority: 100) (element 'channel')`,
    ],
    legacy_pp_both_ends: [
      `3:5: warning: pp on 'protection_domain' is deprecated since Microkit 2.0: put pp="true" on the calling end of each channel instead (translated for 'low': no channel end gained pp) (element 'protection_domain')`,
      `6:5: warning: pp on 'protection_domain' is deprecated since Microkit 2.0: put pp="true" on the calling end of each channel instead (translated for 'high': pp="true" added to the end of 'low') (element 'protection_domain')`,
      `9:5: warning: pp="true" on protection_domain 'low' gives 'high' no protected call on this channel: Microkit 2.x allows a PPC only to a strictly higher priority, and 'high' (priority: 2) is not below 'low' (priority: 1) (element 'channel')`,
    ],
  };

  test("every rule fixture is in one of the tables", () => {
    assert.deepEqual(
      systemFiles("rules"),
      [...Object.keys(fails), ...Object.keys(passes)].map((r) => `${r}.system`).sort(),
    );
  });

  for (const [rule, expected] of Object.entries(fails)) {
    test(`${rule}: refused`, () => {
      const file = `${rule}.system`;
      const result = parseFixture("rules", file);
      assert.ok(!result.ok, `${file} was accepted`);
      assert.deepEqual(formatted(result), expected.map((e) => `${file}:${e}`));
    });
  }

  for (const [rule, expected] of Object.entries(passes)) {
    test(`${rule}: accepted with located warnings`, () => {
      const file = `${rule}.system`;
      const result = parseRule(file);
      assert.ok(result.ok, formatted(result).join("\n"));
      assert.deepEqual(formatted(result), expected.map((e) => `${file}:${e}`));
    });
  }
});

describe("pre-2.0 pp on <protection_domain>", () => {
  test("is translated to pp on the calling end: the PD that shares a channel with the server and is below it", () => {
    const result = parseFixture("rules", "legacy_pp_on_protection_domain.system");
    assert.ok(result.ok);
    assert.deepEqual(
      result.system.channels.map((c) => c.ends.map((e) => [e.pd, e.pp])),
      [
        [
          ["client", true],
          ["server", undefined],
        ],
      ],
    );
    // The protection domain itself carries no trace of the old attribute: the description is pure 2.x.
    assert.deepEqual(Object.keys(result.system.protectionDomains[1] ?? {}).includes("pp"), false);
  });

  test("a direction 2.x forbids (caller not lower) is dropped with a warning at the channel, not turned into an error", () => {
    const notLower = parseFixture("rules", "legacy_pp_caller_not_lower.system");
    assert.ok(notLower.ok);
    assert.deepEqual(
      notLower.system.channels[0]?.ends.map((e) => e.pp),
      [undefined, undefined],
    );
    const both = parseFixture("rules", "legacy_pp_both_ends.system");
    assert.ok(both.ok);
    assert.deepEqual(
      both.system.channels[0]?.ends.map((e) => [e.pd, e.pp]),
      [
        ["low", true],
        ["high", undefined],
      ],
    );
  });
});

describe("unsupported elements", () => {
  test("run refuses each with a located error naming the element and saying what is missing", () => {
    for (const [file, count] of [
      ["virtual_machine_unsupported.system", 1],
      ["x86_interrupts_unsupported.system", 3],
    ] as const) {
      const result = parseRule(file);
      assert.ok(result.ok);
      const errors = unsupportedFeatures(result.system);
      assert.equal(errors.length, count);
      for (const e of errors) {
        assert.equal(e.severity, "error");
        assert.match(e.message, /^'(virtual_machine|irq|ioport)' is not supported by isokit: worker-thread PDs have no /);
        assert.ok(e.location !== undefined);
      }
    }
    const vm = parseFixture("rules", "virtual_machine_unsupported.system");
    assert.ok(vm.ok);
    assert.deepEqual(unsupportedFeatures(vm.system).map(formatDiagnostic), [
      "virtual_machine_unsupported.system:5:9: error: 'virtual_machine' is not supported by isokit: worker-thread PDs have no virtual CPUs",
    ]);
  });
});

describe("odds and ends", () => {
  test("pp=\"false\" on a protection_domain is dropped with a warning", () => {
    const result = parseSystem('<system>\n  <protection_domain name="a" pp="false"><program_image path="a.elf"/></protection_domain>\n</system>', "f.system");
    assert.ok(result.ok);
    assert.deepEqual(formatted(result), [
      `f.system:2:3: warning: pp on 'protection_domain' is deprecated since Microkit 2.0: pp="false" was the default and can go (element 'protection_domain')`,
    ]);
  });

  test("namespace declarations are not attributes (roxmltree does not list them either)", () => {
    const result = parseSystem('<system xmlns="urn:x"><protection_domain name="a" xmlns:q="urn:q"><program_image path="a.elf"/></protection_domain></system>', "n.system");
    assert.ok(result.ok, formatted(result).join("\n"));
  });

  test("loadSystemFile reads and parses; a file it cannot read is a located error, not an exception", () => {
    const path = join(fixtures, "valid", "ipc.system");
    assert.deepEqual(loadSystemFile(path, "ipc.system"), parseFixture("valid", "ipc.system"));
    const missing = loadSystemFile(join(fixtures, "nope.system"), "nope.system");
    assert.ok(!missing.ok);
    assert.equal(missing.diagnostics.length, 1);
    assert.match(formatDiagnostic(missing.diagnostics[0]!), /^nope\.system:1:1: error: cannot read: ENOENT/);
  });
});
