// Hostile PDs against L4 services and lends (issue #11, finding 10), on real workers: any register value a
// caller writes — a word above 2^53, a count, an offset, a size, a mode — gets that caller an error reply; the
// server never faults and goes on serving the others.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SystemDescription } from "../../src/index.ts";
import { run } from "../helpers.ts";

const lent = (perms: string) => ({ mr: "lent", vaddr: 0x400_0000, perms, setvarVaddr: "lent" });

const system: SystemDescription = {
  protectionDomains: [
    { name: "server", priority: 200, program: "hostile/programs/l4-server.ts", maps: [lent("r")] },
    { name: "hostile", priority: 100, program: "hostile/programs/l4-hostile.ts", maps: [lent("rw")] },
    { name: "honest", priority: 100, program: "hostile/programs/l4-honest.ts", maps: [lent("rw")] },
  ],
  channels: [
    { ends: [{ pd: "hostile", id: 1, pp: true }, { pd: "server", id: 1 }] },
    { ends: [{ pd: "hostile", id: 2, pp: true }, { pd: "server", id: 2 }] },
    { ends: [{ pd: "honest", id: 3, pp: true }, { pd: "server", id: 3 }] },
    { ends: [{ pd: "honest", id: 4, pp: true }, { pd: "server", id: 4 }] },
    { ends: [{ pd: "hostile", id: 5 }, { pd: "honest", id: 5 }] },
  ],
  memoryRegions: [{ name: "lent", size: 4096 }],
};

describe("hostile: L4 services and lends (workers)", { timeout: 60_000 }, () => {
  it("out-of-range register values get the caller an error reply; the server goes on serving", async () => {
    await using booted = await run(system, "workers");
    assert.deepEqual(booted.system.faults.map((f) => `${f.pd}.${f.entry}: ${f.error.message}`), []);
    // Error codes (MR1 of an error reply): 2 BAD_LENGTH, 3 HANDLER_FAILED, 4 BAD_WORD. 98 is the server's
    // "not a lend of this layout" (acceptLend returned null).
    assert.deepEqual(booted.of("hostile"), [
      "a word above 2^53: error 4",
      "a word of 2^64-1: error 4",
      "a reply above 2^53: error 3",
      "typed words to a service that takes none: error 2",
      "a lend at offset 2^60: label 98",
      "a lend of size 2^60: label 98",
      "a lend whose mode word is 2^60: label 98",
      "a lend whose mode word is 2: label 98",
      "a mutable lend of a region the server maps read-only: label 98",
      "a lend at the region's last byte: label 98",
    ]);
    assert.deepEqual(booted.of("honest"), ["add: 42", "lend: label 0 count 7"]);
  });

  it("the client stub checks a hostile server's reply as strictly: a typed error for every lie, never stale words", async () => {
    const liar: SystemDescription = {
      protectionDomains: [
        { name: "server", priority: 200, program: "hostile/programs/l4-liar.ts" },
        { name: "client", priority: 100, program: "hostile/programs/l4-liar.ts" },
      ],
      channels: [{ ends: [{ pd: "client", id: 1, pp: true }, { pd: "server", id: 1 }] }],
    };
    await using booted = await run(liar, "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), [
      "a tag claiming more words than the reply carries: InvalidMessage",
      "a word above 2^53: InvalidMessage",
      "another service's label: InvalidMessage",
      "an error code above 2^53: InvalidMessage",
      "no registers: InvalidMessage",
    ]);
  });
});
