// checkSystem on descriptions written in TypeScript: no locations, so each message must stand on its own
// (names and values), and the rules must not depend on anything only the parser sets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkSystem, type ProtectionDomainDescription, type SystemDescription } from "../../src/sdf/index.ts";

const pd = (name: string, priority: number, extra: Partial<ProtectionDomainDescription> = {}): ProtectionDomainDescription => ({
  name,
  priority,
  program: `${name}.ts`,
  ...extra,
});

function problems(system: SystemDescription): string[] {
  const diagnostics = checkSystem(system);
  for (const d of diagnostics) assert.equal(d.location, undefined, "a TypeScript description has no locations to report");
  return diagnostics.map((d) => `${d.severity}: ${d.message}`);
}

describe("checkSystem without locations", () => {
  test("a sound system has nothing to say", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [pd("client", 1, { maps: [{ mr: "buf", vaddr: 0x200_0000, perms: "r" }] }), pd("server", 2, { maps: [{ mr: "buf", vaddr: 0x200_0000 }] })],
        channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 0 }] }],
        memoryRegions: [{ name: "buf", size: 0x1000 }],
      }),
      [],
    );
  });

  test("PD counts and names", () => {
    assert.deepEqual(problems({ protectionDomains: [], channels: [] }), ["error: at least one protection domain must be defined"]);
    const many = Array.from({ length: 64 }, (_, i) => pd(`pd${i}`, 1));
    assert.deepEqual(problems({ protectionDomains: many, channels: [] }), ["error: too many protection domains (64) defined. Maximum is 63."]);
    assert.deepEqual(problems({ protectionDomains: [pd("", 1), pd("monitor", 1)], channels: [] }), [
      "error: name must not be empty on element 'protection_domain'",
      "error: the name 'monitor' is reserved for the Microkit monitor on element 'protection_domain'",
    ]);
  });

  test("scheduling parameters and stack size", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [
          pd("a", 255),
          pd("b", 1.5),
          pd("c", 1, { budget: 2000 }),
          pd("d", 1, { budget: 2000, period: 1000 }),
          pd("e", 1, { stackSize: 0x200_0000 }),
          pd("f", 1, { stackSize: 0x1001 }),
          pd("g", 1, { cpu: -1 }),
        ],
        channels: [],
      }),
      [
        "error: priority must be between 0 and 254 on element 'protection_domain'",
        "error: priority must be between 0 and 254 on element 'protection_domain'",
        "error: budget (2000) must be less than, or equal to, period (1000) on element 'protection_domain'",
        "error: stack size must be between 0x1000 bytes and 0x1000000 bytes on element 'protection_domain'",
        "error: stack size must be aligned to the smallest page size, 4096 bytes on element 'protection_domain'",
        "error: cpu must be a non-negative integer, got -1 on element 'protection_domain'",
      ],
    );
  });

  test("children: ids 0..61, unique per parent", () => {
    const parent = pd("parent", 10, { children: [pd("one", 1, { id: 1 }), pd("two", 1, { id: 1 }), pd("three", 1, { id: 62 }), pd("four", 1, { id: -1 })] });
    assert.deepEqual(problems({ protectionDomains: [parent], channels: [] }), [
      "error: duplicate id: 1 in protection domain: 'parent' (child 'two' clashes with child 'one')",
      "error: id must be < 62 on element 'protection_domain'",
      "error: id must be >= 0 on element 'protection_domain'",
    ]);
  });

  test("regions and maps", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [
          pd("a", 1, {
            maps: [
              { mr: "big", vaddr: 0x200_0000 },
              { mr: "small", vaddr: 0x220_0000 },
              { mr: "small", vaddr: 0x300_0000, perms: "wx" },
              { mr: "small", vaddr: 0x300_0000, perms: "" },
              { mr: "nowhere", vaddr: 0x400_0000 },
              { mr: "small", vaddr: 0x500_0800 },
              { mr: "small", vaddr: 0x600_0000, setvarPrefillSize: "n" },
            ],
          }),
        ],
        channels: [],
        memoryRegions: [
          { name: "big", size: 0x40_0000, pageSize: 0x20_0000 },
          { name: "small", size: 0x1000, physAddr: 0x3000_0000 },
          { name: "small2", size: 0x1000, physAddr: 0x3000_0000 },
          { name: "odd", size: 0x1800 },
          { name: "empty", size: 0 },
          { name: "huge", size: 0x1000, pageSize: 0x40_0000 },
        ],
      }),
      [
        "error: memory region 'small2' physical address range [0x30000000..0x30001000) overlaps with another memory region 'small' [0x30000000..0x30001000)",
        "error: size is not a multiple of the page size on element 'memory_region'",
        "error: size must be greater than 0 on element 'memory_region'",
        "error: page size 0x400000 not supported on element 'memory_region'",
        "error: map for 'small' has virtual address range [0x2200000..0x2201000) which overlaps with map for 'big' [0x2000000..0x2400000) in protection domain 'a'",
        "error: perms must not be 'w', write-only mappings are not allowed on element 'map'",
        "error: perms must only be a combination of 'r', 'w', and 'x' on element 'map'",
        "error: invalid memory region name 'nowhere' on 'map'",
        "error: invalid vaddr alignment on 'map'",
        "error: 'setvar_prefill_size' used for MR without a `prefill_path`",
        "warning: unused memory region 'small2'",
        "warning: unused memory region 'odd'",
        "warning: unused memory region 'empty'",
        "warning: unused memory region 'huge'",
      ],
    );
  });

  test("setvar symbols are unique per PD, counting a child's setvar_id in its parent", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [
          pd("a", 1, {
            maps: [{ mr: "buf", vaddr: 0x200_0000, setvarVaddr: "x" }],
            setvars: [{ symbol: "x", regionPaddr: "buf" }, { symbol: "y", regionPaddr: "missing" }],
            irqs: [{ irq: 33, id: 5, setvarId: "z" }],
            children: [pd("kid", 0, { id: 1, setvarId: "z" })],
          }),
        ],
        channels: [],
        memoryRegions: [{ name: "buf", size: 0x1000 }],
      }),
      [
        "error: invalid memory region name 'missing' on 'setvar'",
        "error: setvar on symbol 'x' already exists on element 'setvar'",
        "error: setvar on symbol 'z' already exists on element 'protection_domain'",
      ],
    );
  });

  test("ids: channel ends and IRQs share 0..61 per PD; IRQ numbers are unique in the system", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [
          pd("a", 1, { irqs: [{ irq: 33, id: 1 }, { irq: 34, id: 62 }, { irq: 35, id: -2 }] }),
          pd("b", 2, { irqs: [{ irq: 33, id: 1 }] }),
        ],
        channels: [{ ends: [{ pd: "a", id: 1 }, { pd: "b", id: 2 }] }],
      }),
      [
        "error: id must be < 62 on element 'irq'",
        "error: id must be >= 0 on element 'irq'",
        "error: duplicate irq: 33 in protection domain: 'b' (first used by protection domain 'a')",
        "error: duplicate channel id: 1 in protection domain: 'a'",
      ],
    );
  });

  test("a channel built in JavaScript with the wrong number of ends", () => {
    const broken = { ends: [{ pd: "a", id: 0 }] } as unknown as SystemDescription["channels"][number];
    assert.deepEqual(problems({ protectionDomains: [pd("a", 1)], channels: [broken] }), ["error: exactly two end elements must be specified on element 'channel'"]);
  });

  test("PPC priorities: equal is not higher", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [pd("a", 5), pd("b", 5)],
        channels: [{ ends: [{ pd: "a", id: 0 }, { pd: "b", id: 0, pp: true }] }],
      }),
      ["error: PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd b (priority: 5) to pd a (priority: 5)"],
    );
  });

  test("domains: declared names only; with <domains> every PD needs one; without a schedule none may have one", () => {
    assert.deepEqual(
      problems({
        protectionDomains: [pd("a", 1, { domain: "one" }), pd("b", 1, { domain: "three" }), pd("c", 1)],
        channels: [],
        domains: [{ name: "one" }, { name: "two", id: 2 }],
        domainSchedule: [
          { name: "one", length: 100 },
          { name: "four", length: 100, unit: "ticks" },
        ],
      }),
      [
        "error: domain 'three' not declared in <domains>: on element 'protection_domain'",
        "error: Missing required attribute 'domain' on element 'protection_domain'",
        "error: domain 'four' does not exist, on element 'schedule_entry'",
      ],
    );
    assert.deepEqual(problems({ protectionDomains: [pd("a", 1, { domain: "x" })], channels: [], domainSchedule: [{ name: "x", length: 5 }] }), []);
    assert.deepEqual(problems({ protectionDomains: [pd("a", 1, { domain: "x" })], channels: [] }), [
      "error: Specifying a domain 'x' without declaring a domain schedule is not allowed: on element 'protection_domain'",
    ]);
  });
});
