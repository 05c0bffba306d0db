// Lending typed values between PDs (src/pd/lend.ts), in both modes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SystemDescription } from "../src/index.ts";
import { modes, run } from "./helpers.ts";

const map = { mr: "shared", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "shared" };
const description: SystemDescription = {
  protectionDomains: [
    { name: "client", priority: 100, program: "programs/lend.ts", maps: [map] },
    { name: "server", priority: 200, program: "programs/lend.ts", maps: [map] },
  ],
  channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 1 }] }],
  memoryRegions: [{ name: "shared", size: 4096 }],
};

for (const mode of modes) {
  describe(`lend (${mode})`, () => {
    it("lendMut: the server changes the value in place and the lender sees it after; lend is read-only; another layout is refused", async () => {
      await using booted = await run(description, mode);
      assert.deepEqual(booted.system.faults, []);
      assert.deepEqual(booted.of("client"), [
        "after lendMut: count=2 total=20 log=2 note=bumped label=0",
        "tryLend read-only: ok=true label=2; count still 2",
        "a value of another layout: label=98",
      ]);
      // In one thread the server can reach the lender's own view object: it is detached for the whole lend.
      assert.deepEqual(booted.of("server"), mode === "in-process" ? ["the lender's view during the lend: ResourceBusy", "the lender's view during the lend: ResourceBusy"] : []);
    });
  });
}
