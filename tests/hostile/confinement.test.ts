// Confined PDs (issue #13) on real workers: a program runs in a Hardened JavaScript compartment and reaches only
// the PD API. Every way out it tries is refused with a typed error or stopped by the frozen intrinsics, a
// read-only or revoked region refuses its writes, and the PDs around it keep answering. A trusted PD, listed in
// boot's `trusted`, keeps the worker's whole authority.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpcError, type SystemDescription } from "../../src/index.ts";
import { run } from "../helpers.ts";

const escape: SystemDescription = {
  protectionDomains: [
    { name: "escape", priority: 100, program: "hostile/programs/confine-escape.ts", maps: [{ mr: "ro", vaddr: 0x400_0000, perms: "r", setvarVaddr: "ro" }] },
    { name: "server", priority: 200, program: "programs/server.ts" },
  ],
  channels: [{ ends: [{ pd: "escape", id: 13, pp: true }, { pd: "server", id: 37 }] }],
  memoryRegions: [{ name: "ro", size: 4096 }],
};

/** Waits (a hang guard, not a timing assertion) until `pd` printed `last`. */
async function until(lines: () => string[], last: string): Promise<void> {
  for (let i = 0; i < 1000 && !lines().includes(last); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

const single = (program: string): SystemDescription => ({ protectionDomains: [{ name: "p", priority: 100, program }], channels: [] });

describe("hostile: confined PDs (workers)", { timeout: 60_000 }, () => {
  it("every way out is refused with a typed error or stopped, and the server keeps answering", async () => {
    const ro = new SharedArrayBuffer(4096);
    await using booted = await run(escape, "workers", { regions: { ro } });
    await until(() => booted.of("escape"), "the server still answers: 42");
    assert.deepEqual(booted.system.faults.map((f) => `${f.pd}.${f.entry}: ${f.error.message}`), []);
    assert.deepEqual(booted.of("escape"), [
      "read a file: blocked PermissionDenied",
      "write a file: blocked PermissionDenied",
      "child_process: blocked PermissionDenied",
      "sockets: blocked PermissionDenied",
      "fetch: blocked",
      "process.kill: blocked TypeError",
      "process.exit: blocked TypeError",
      "parentPort.postMessage: blocked PermissionDenied",
      "BroadcastChannel: blocked TypeError",
      "SharedArrayBuffer: blocked TypeError",
      "Atomics: blocked TypeError",
      "isokit internals by path: blocked PermissionDenied",
      "isokit/internal: blocked PermissionDenied",
      "the runtime's current PD: blocked",
      "Function constructor: blocked",
      "indirect eval: blocked",
      "Object.prototype pollution: blocked TypeError",
      "Array.prototype pollution: blocked TypeError",
      "TypedArray prototype pollution: blocked TypeError",
      "Uint8Array.prototype pollution: blocked TypeError",
      "an element on Object.prototype: blocked TypeError",
      "API pollution: blocked TypeError",
      "API prototype pollution: blocked TypeError",
      "stack frames: blocked",
      "a timer's Node object: blocked",
      "write a read-only region: blocked PermissionDenied",
      "writableBytes of a read-only region: blocked PermissionDenied",
      "fill a read-only region: blocked PermissionDenied",
      "a read-only region's SharedArrayBuffer: blocked",
      "a DataView over a read-only region: blocked PermissionDenied",
      "a plain DataView over a region's buffer: blocked TypeError",
      "TypedArray methods on a region view: blocked TypeError",
      "the buffer getter on a region view: blocked TypeError",
      "a subarray of a read-only region: blocked PermissionDenied",
      "write a revoked region: blocked PermissionDenied",
      "set into a revoked region: blocked PermissionDenied",
      "a live mapping still writes: 1",
      "the runtime through a capability's properties: blocked",
      "reopen a revoked capability: blocked TypeError",
      "a dynamic import of node:fs: blocked PermissionDenied",
      "the server still answers: 42",
    ]);
    assert.equal(new Uint8Array(ro).some((byte) => byte !== 0), false, "the read-only region is untouched");
    assert.deepEqual(
      booted.system.pds().map((pd) => `${pd.name}: ${pd.state}`),
      ["escape: running", "server: running"],
    );
  });

  it("a static import of a Node built-in fails the boot, located at the import", async () => {
    await assert.rejects(run(single("hostile/programs/confine-static-fs.ts"), "workers"), (error: unknown) => {
      assert.ok(error instanceof IpcError);
      assert.equal(error.code, "InvalidSystem");
      assert.match(error.message, /confine-static-fs\.ts:2:\d+: confined PD: 'node:fs' is a Node built-in/);
      return true;
    });
  });

  it("a static import of an isokit internal module fails the boot, located at the import", async () => {
    await assert.rejects(run(single("hostile/programs/confine-internal.ts"), "workers"), (error: unknown) => {
      assert.ok(error instanceof IpcError);
      assert.equal(error.code, "InvalidSystem");
      assert.match(error.message, /confine-internal\.ts:4:\d+: confined PD: '.*src\/pd\/context\.ts' is one of isokit's internal modules/);
      return true;
    });
  });

  it("the same program listed trusted loads with Node's APIs", async () => {
    await using booted = await run(single("hostile/programs/confine-static-fs.ts"), "workers", { trusted: ["p"] });
    assert.deepEqual(booted.system.faults, []);
    assert.equal(booted.of("p").length, 1);
  });

  it("trusted must name PDs of the description", async () => {
    await assert.rejects(run(single("programs/idle.ts"), "workers", { trusted: ["nobody"] }), (error: unknown) => error instanceof IpcError && error.code === "InvalidSystem");
  });
});
