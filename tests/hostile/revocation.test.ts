// Revocation binds on mappings made earlier (docs/confinement.md): PD "owner" lends a region to the confined
// PD "holder" through a capability and then revokes it. The kernel clears the mapping's liveness word, which
// every guarded view loads before an access, so each view the holder made while it held the capability (its
// bytes, a subarray, a DataView, a kept method) stops with PermissionDenied; nothing it tries afterwards reads
// what the owner writes next or writes into the region, and the owner keeps answering. Real workers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SystemDescription } from "../../src/index.ts";
import { run } from "../helpers.ts";

const lending: SystemDescription = {
  protectionDomains: [
    { name: "owner", priority: 200, program: "hostile/programs/revoke-owner.ts" },
    { name: "holder", priority: 100, program: "hostile/programs/revoke-holder.ts" },
  ],
  // A channel so the owner may grant to the holder (authority follows the description); nobody uses it.
  channels: [{ ends: [{ pd: "owner", id: 1 }, { pd: "holder", id: 1 }] }],
};

describe("hostile: revoking a region another PD mapped (workers)", { timeout: 60_000 }, () => {
  it("every view made before the revoke refuses reads and writes with PermissionDenied; the owner keeps answering", async () => {
    await using booted = await run(lending, "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("holder"), [
      "a layout view: n=5 s=hi; what it holds: [object Object] [object Object]",
      "before: A1, the owner says revoked 2",
      "write an element: blocked PermissionDenied",
      "set: blocked PermissionDenied",
      "fill: blocked PermissionDenied",
      "a subarray made before (write): blocked PermissionDenied",
      "a subarray made before (read): blocked PermissionDenied",
      "a DataView made before (setUint32): blocked PermissionDenied",
      "a DataView made before (getUint32): blocked PermissionDenied",
      "read an element: blocked PermissionDenied",
      "a kept slice method: blocked PermissionDenied",
      "TextDecoder over the view: blocked PermissionDenied",
      "a layout view made before (read): blocked PermissionDenied",
      "a layout view made before (write): blocked PermissionDenied",
      "a layout view made before (string): blocked PermissionDenied",
      "a layout view made after: blocked PermissionDenied",
      "writableBytes(): blocked PermissionDenied",
      "map it again: blocked InvalidCapability",
      "the owner still answers: pong",
    ]);
    // Written before the revoke, nothing after it (bytes 2..15 would hold the holder's attempts).
    assert.deepEqual(booted.of("owner"), ["region: A1 and zeroes"]);
    assert.deepEqual(booted.system.pds().map((pd) => `${pd.name}: ${pd.state}`), ["owner: running", "holder: running"]);
  });
});
