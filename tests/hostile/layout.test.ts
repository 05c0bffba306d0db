// Hostile PDs against typed layouts (issue #11, finding 7), on real workers: a PD that races writes to its own
// region must not change what a server reads from another PD's region, nor make it read a value that was not
// in the bytes of the region it read.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SystemDescription } from "../../src/index.ts";
import { run } from "../helpers.ts";

const map = (mr: string, perms: string, setvarVaddr: string, vaddr = 0x400_0000) => ({ mr, vaddr, perms, setvarVaddr });

const race: SystemDescription = {
  protectionDomains: [
    { name: "server", priority: 200, program: "hostile/programs/layout-server.ts", maps: [map("honest", "r", "honest"), map("hostile", "rw", "hostile", 0x500_0000)] },
    { name: "honest", priority: 100, program: "hostile/programs/layout-writer.ts", maps: [map("honest", "rw", "mine")] },
    { name: "racer", priority: 100, program: "hostile/programs/layout-racer.ts", maps: [map("hostile", "rw", "mine")] },
  ],
  channels: [{ ends: [{ pd: "honest", id: 0 }, { pd: "server", id: 0 }] }],
  memoryRegions: [
    { name: "honest", size: 4096 },
    { name: "hostile", size: 4096 },
  ],
};

describe("hostile: layouts over regions other PDs write (workers)", { timeout: 60_000 }, () => {
  it("a string field read from two regions: a PD racing writes to its own never makes the server misread the other's", async () => {
    // Trusted: the server and the racer pace the race with Atomics on control words in the hostile region (wait
    // for READY, count WRITES, set STOP), and a confined program has no Atomics. The honest writer runs confined
    // (a layout view over its guarded region view).
    await using booted = await run(race, "workers", { trusted: ["server", "racer"] });
    assert.deepEqual(booted.system.faults, []);
    // racing=true: the hostile rewrote its region at least 20,000 times while the server read (else the test
    // proved nothing). honestWrong: reads of the honest "guest" that came back as anything else. hostileForeign:
    // values read from the hostile region that are not made of bytes it wrote there.
    assert.deepEqual(booted.of("server"), ["racing=true honestWrong=0 hostileForeign=0 untyped=none"]);
  });
});
