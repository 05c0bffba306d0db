// Async channels wired by boot between PDs and the booting thread (src/kernel/async-channels.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { boot, HOST, isIpcError } from "../../src/index.ts";

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

describe("async channels wired at boot", () => {
  it("the pipeline example: 100,000 messages through three PDs arrive in order, each transformed once", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "examples/pipeline/run.ts"), "100000"], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^host: sink reports 100000 received, 0 out of order or wrong; 100000 messages through 3 PDs/m);
    for (const stage of ["source", "transform", "sink"]) assert.match(r.stdout, new RegExp(`^${stage}: 100000 messages, [\\d.]+ M msg/s$`, "m"));
  });

  it("refuses a channel naming a PD the system does not have, or a name used twice", async () => {
    const description = { protectionDomains: [{ name: "a", priority: 1, program: join(root, "tests/programs/idle.ts") }], channels: [] };
    for (const asyncChannels of [
      [{ name: "x", producers: ["a"], consumer: "ghost", capacity: 4 }],
      [{ name: "x", producers: ["a"], consumer: HOST, capacity: 4 }, { name: "x", producers: [HOST], consumer: "a", capacity: 4 }],
      [{ name: "x", producers: [], consumer: "a", capacity: 4 }],
      [{ name: "x", producers: ["a"], consumer: HOST, capacity: 0 }],
    ]) {
      await assert.rejects(boot(description, { asyncChannels }), (error) => isIpcError(error, "InvalidSystem"));
    }
  });

  it("a PD that dies ends the booting thread's stream with PeerDied", async () => {
    const system = await boot(
      { protectionDomains: [{ name: "a", priority: 1, program: join(root, "tests/programs/idle.ts") }], channels: [] },
      { asyncChannels: [{ name: "up", producers: ["a"], consumer: HOST, capacity: 4 }] },
    );
    try {
      const consumer = system.asyncConsumer("up");
      const pending = consumer.receiveAsync({ timeout: 30_000 });
      await system.shutdown(); // PD 'a' stops: the kernel marks its producer end dead
      await assert.rejects(pending, (error) => isIpcError(error, "PeerDied"));
    } finally {
      await system.shutdown();
    }
  });
});
