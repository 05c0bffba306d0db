// The summary `isokit check` prints: defaults filled in, who may call whom, who maps what.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatSummary, summarizeSystem } from "../../src/sdf/index.ts";
import { parseFixture } from "./support.ts";

function summaryOf(file: string): ReturnType<typeof summarizeSystem> {
  const result = parseFixture("valid", file);
  assert.ok(result.ok);
  return summarizeSystem(result.system);
}

test("ipc.system: priorities, default budget and period, the calling end", () => {
  const summary = summaryOf("ipc.system");
  assert.deepEqual(summary, {
    protectionDomains: [
      { name: "client", program: "microkit-ipc-client.elf", priority: 100, passive: false, budget: 1000, period: 1000, parent: undefined, maps: [] },
      { name: "server", program: "microkit-ipc-server.elf", priority: 200, passive: false, budget: 1000, period: 1000, parent: undefined, maps: [] },
    ],
    channels: [
      {
        ends: [
          { pd: "client", id: 13, pp: true, notify: true },
          { pd: "server", id: 37, pp: false, notify: true },
        ],
      },
    ],
    memoryRegions: [],
    unsupported: [],
  });
  assert.deepEqual(formatSummary(summary), [
    "protection domain client: priority 100, budget 1000, period 1000 (microkit-ipc-client.elf)",
    "protection domain server: priority 200, budget 1000, period 1000 (microkit-ipc-server.elf)",
    "channel client:13 --pp--> server:37",
  ]);
});

test("passive PDs, children, maps and regions with who maps them", () => {
  assert.deepEqual(formatSummary(summaryOf("passive_server.system")), [
    "protection domain server: priority 100, passive, budget 1000, period 1000 (server.elf)",
    "protection domain client: priority 99, budget 1000, period 1000 (client.elf)",
    "channel server:0 <--pp-- client:0",
  ]);
  assert.deepEqual(formatSummary(summaryOf("hierarchy.system")), [
    "protection domain restarter: priority 254, budget 1000, period 1000 (restarter.elf)",
    "protection domain crasher (child 1 of restarter): priority 253, budget 1000, period 1000 (crasher.elf)",
    "protection domain hello (child 2 of restarter): priority 1, budget 1000, period 1000 (hello.elf)",
  ]);
  assert.deepEqual(formatSummary(summaryOf("shared-memory.system")), [
    "protection domain client: priority 100, budget 1000, period 1000 (microkit-shared-memory-client.elf)",
    "  maps region_a at 0x2000000 rw as region_a_vaddr",
    "  maps region_b at 0x2400000 rw as region_b_vaddr",
    "protection domain server: priority 200, budget 1000, period 1000 (microkit-shared-memory-server.elf)",
    "  maps region_a at 0x2000000 r as region_a_vaddr",
    "  maps region_b at 0x2400000 r as region_b_vaddr",
    "channel client:13 --pp--> server:37",
    "memory region region_a: 0x1000 bytes, mapped by client, server",
    "memory region region_b: 0x1000 bytes, mapped by client, server",
  ]);
  assert.deepEqual(formatSummary(summaryOf("mr_prefill.system")).slice(-1), ["memory region prefilled: sized by its prefill, prefilled from fill.bin, mapped by mr_prefill"]);
  assert.deepEqual(formatSummary(summaryOf("domains.system")).at(-1), "channel emitter:0 <-----> collector:0 (no notify)");
  assert.deepEqual(formatSummary(summaryOf("cap_sharing.system")).at(-1), "unsupported by isokit run: cspace");
});
