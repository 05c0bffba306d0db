// Endpoints and capabilities between PDs on real worker threads (src/ipc, src/kernel/ipc-kernel.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SystemDescription } from "../src/index.ts";
import { run } from "./helpers.ts";

function system(program: string, names: readonly string[]): SystemDescription {
  return {
    protectionDomains: names.map((name, i) => ({ name, priority: 200 - i, program: `programs/ep/${program}.ts` })),
    channels: [],
  };
}

describe("endpoints (workers)", () => {
  it("client-server: call and reply, send, badges, sender names, and the API's typed errors", async () => {
    await using booted = await run(system("basic", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), [
      `echo rights=${1 | 4} badge=7`,
      "reply HELLO label=6",
      "65 bytes: MessageTooLarge",
      "receive without RECEIVE: PermissionDenied",
      "derive wider: PermissionDenied",
      "random token: InvalidCapability",
      "grant RECEIVE to another PD: PermissionDenied",
      "grant without GRANT: PermissionDenied",
      "send through a closed capability: InvalidCapability",
      "stats ops=2 p50>0=true",
    ]);
    assert.deepEqual(booted.of("server"), [
      "endpoint 1 rights=15",
      "got hello label=5 badge=7 from=client call=true",
      "got note label=0 badge=7 from=client call=false",
      "got bye label=0 badge=7 from=client call=false",
      "receive after bye, timeout 0: WouldBlock",
    ]);
  });
});
