// Child PDs and their parent's fault(), and memory regions mapped into PDs, in both modes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SystemDescription } from "../src/index.ts";
import { clientServer, modes, run } from "./helpers.ts";

function withParent(parent: string): SystemDescription {
  const base = clientServer("throws");
  return {
    protectionDomains: [
      base.protectionDomains[0]!,
      {
        name: parent,
        priority: 250,
        program: "programs/parent.ts",
        children: [{ name: "server", id: 1, priority: 200, program: "programs/server.ts" }],
      },
    ],
    channels: base.channels,
  };
}

for (const mode of modes) {
  describe(`children and regions (${mode})`, () => {
    test("a child's fault goes to its parent; true lets it go on serving", async () => {
      await using s = await run(withParent("parent-resume"), mode);
      const resumed = "EntryPointFailed: ppcall: PD 'server' faulted serving the call on channel 13; its parent let it resume";
      assert.deepEqual(s.of("throws"), [`call 0 -> ${resumed}`, `call 1 -> ${resumed}`]);
      assert.deepEqual(s.of("parent-resume"), ["fault from Child(1) label=1; resume=true", "fault from Child(1) label=1; resume=true"]);
      assert.deepEqual(s.of("server"), ["notified ChannelSet{37}"], "the resumed child still serves");
      assert.deepEqual(
        s.system.faults.map((f) => [f.pd, f.entry, f.handledBy, f.resumed]),
        [
          ["server", "protected", "parent-resume", true],
          ["server", "protected", "parent-resume", true],
        ],
      );
      assert.equal(s.system.pds().find((p) => p.name === "server")?.state, "running");
    });

    test("false stops the child; its callers get PeerDied", async () => {
      await using s = await run(withParent("parent-stop"), mode);
      assert.deepEqual(s.of("throws"), [
        "call 0 -> PeerDied: ppcall: PD 'server' at the other end of channel 13 has died",
        "call 1 -> PeerDied: ppcall: PD 'server' at the other end of channel 13 has died",
        "notify after death -> PeerDied: notify: PD 'server' at the other end of channel 13 has died",
      ]);
      assert.deepEqual(s.of("parent-stop"), ["fault from Child(1) label=1; resume=false"]);
      assert.deepEqual(
        s.system.faults.map((f) => [f.pd, f.handledBy, f.resumed]),
        [["server", "parent-stop", false]],
      );
      assert.equal(s.system.pds().find((p) => p.name === "server")?.state, "faulted");
    });

    test("a region with prefill_path and no size is sized from its file and filled with it", async () => {
      await using s = await run(
        {
          memoryRegions: [{ name: "data", size: 0, prefillPath: "programs/prefill.bin" }],
          protectionDomains: [{ name: "reader", priority: 1, program: "programs/prefill-reader.ts", maps: [{ mr: "data", vaddr: 0x400_0000, perms: "r", setvarVaddr: "data" }] }],
          channels: [],
        },
        mode,
      );
      assert.deepEqual(s.of("reader"), ["4096 bytes: 'prefilled by the kernel', then 0"]);
    });

    test("the host can supply a region's memory and exchange data with the PDs that map it", async () => {
      const shared = new SharedArrayBuffer(0x1000);
      new Uint8Array(shared).set(new TextEncoder().encode("hello"));
      await using s = await run(
        {
          memoryRegions: [{ name: "shared", size: 0x1000 }],
          protectionDomains: [{ name: "pd", priority: 1, program: "programs/host-region.ts", maps: [{ mr: "shared", vaddr: 0x400_0000, setvarVaddr: "shared" }] }],
          channels: [],
        },
        mode,
        { regions: { shared } },
      );
      assert.deepEqual(s.of("pd"), ["host says 'hello'"]);
      assert.equal(new TextDecoder().decode(new Uint8Array(shared, 8, 5)), "world");
    });

    test("a region is shared by the PDs that map it, by their setvar_vaddr names", async () => {
      await using s = await run(
        {
          memoryRegions: [{ name: "shared", size: 0x1000 }],
          protectionDomains: [
            { name: "writer", priority: 1, program: "programs/region-writer.ts", maps: [{ mr: "shared", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "buf" }] },
            { name: "reader", priority: 2, program: "programs/region-reader.ts", maps: [{ mr: "shared", vaddr: 0x500_0000, perms: "r", setvarVaddr: "view" }] },
          ],
          channels: [{ ends: [{ pd: "writer", id: 0 }, { pd: "reader", id: 0 }] }],
        },
        mode,
      );
      assert.deepEqual(s.of("reader"), [
        "read 'hello through a region' from shared (4096 bytes, perms r)",
        `PermissionDenied: memoryRegion: 'view' (region 'shared') is mapped with perms="r", not writable`,
        "InvalidArgument: memoryRegion: PD 'reader' has no mapping 'nope' (it maps 'view')",
      ]);
    });
  });
}
