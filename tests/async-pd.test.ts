// A PD in `wait: "async"` mode sleeps with Atomics.waitAsync, which does not keep Node's event loop alive by
// itself: the runtime must, or an idle async PD's worker exits (code 13) as soon as it has nothing to do.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "./helpers.ts";

describe("async wait mode", () => {
  it("an idle async PD stays running until it is stopped", async () => {
    await using booted = await run({ protectionDomains: [{ name: "idle", priority: 1, program: "programs/idle-async.ts" }], channels: [] }, "workers");
    await new Promise((resolve) => setTimeout(resolve, 300)); // several sleep slices of 50 ms
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.system.pds().map((pd) => `${pd.name} ${pd.state}`), ["idle running"]);
  });
});
