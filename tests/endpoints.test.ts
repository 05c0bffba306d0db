// Endpoints and capabilities between PDs on real worker threads (src/ipc, src/kernel/ipc-kernel.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SystemDescription } from "../src/index.ts";
import { run } from "./helpers.ts";

function system(program: string, names: readonly string[]): SystemDescription {
  return {
    protectionDomains: names.map((name, i) => ({ name, priority: 200 - i, program: `programs/ep/${program}.ts` })),
    channels: mesh(names),
  };
}

/** Every pair of PDs connected by a channel (ids are the peer's index): what lets them grant to each other by name. */
function mesh(names: readonly string[]): SystemDescription["channels"] {
  const channels: SystemDescription["channels"][number][] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) channels.push({ ends: [{ pd: names[i]!, id: j }, { pd: names[j]!, id: i }] });
  }
  return channels;
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

  it("the IPC buffer: callInto / receiveInto / replyRecvInto from one MessageBuffer, mixed with call and send, and its typed errors", async () => {
    await using booted = await run(system("into", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), [
      "reply HELLO label=6 length=5",
      "64 bytes: true",
      "empty: length=0 label=1",
      "copying call: MIXED",
      "carried: CARRY",
      "length 65: MessageTooLarge",
      "length 1.5: InvalidArgument",
      "length -1: InvalidArgument",
      "label -1: InvalidArgument",
      "label 2^32: InvalidArgument",
      "not a buffer: InvalidArgument",
      "a forged buffer: InvalidArgument",
      "callInto through a channel: InvalidArgument",
      "replyInto with a fresh buffer: InvalidCapability",
    ]);
    assert.deepEqual(booted.of("server"), [
      "got hello label=5 badge=9 from=client call=true",
      "receiveInto while holding a call: InvalidArgument",
      "call carry carried 1 capability",
      "send note",
      "send bye",
      "replyInto holding no call: InvalidCapability",
      "queue q1/3/false q2/4/false",
    ]);
  });

  it("a reply to a caller that died with its call taken returns false (replyInto and reply)", async () => {
    await using booted = await run(system("reply-dead", ["server", "v1", "v2"]), "workers");
    assert.deepEqual(booted.of("server"), ["holds both calls: true", "both gone: true", "replyInto a dead caller: false", "reply to a dead caller: false"]);
    assert.deepEqual(booted.system.faults.map((f) => f.pd).sort(), ["v1", "v2"]);
  });

  it("timeouts and aborts leave the PD usable; a late reply is dropped, never given to the next call", async () => {
    await using booted = await run(system("timeouts", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    const server = booted.of("server");
    assert.deepEqual(server.slice(0, 3), ["receive, timeout 0: WouldBlock", "receive, timeout 30 ms: Timeout", "receive, aborted signal: Aborted"]);
    // Taken before the caller gave up (the usual case): the late reply is dropped. Not taken in time: the
    // caller withdrew it and the server never sees it. Either way the next call gets its own reply.
    const late = ["got slow", "then gave-up", "reply to slow delivered=false", "got fast", "got bye"];
    const withdrawn = ["got gave-up", "got fast", "got bye"];
    const rest = server.slice(3);
    assert.ok(
      JSON.stringify(rest) === JSON.stringify(late) || JSON.stringify(rest) === JSON.stringify(withdrawn),
      rest.join("\n"),
    );
    assert.deepEqual(booted.of("client"), [
      "lookup of a name never granted, timeout 20 ms: Timeout",
      "call, aborted signal: Aborted",
      "call slow, timeout 200 ms: Timeout",
      "fast reply FAST",
    ]);
  });

  it("sends racing a revoke: every message taken was reported sent, none is taken after revoke returns", async () => {
    for (let round = 0; round < 3; round++) {
      await using booted = await run(system("revoke", ["server", "revoker", "client"]), "workers");
      assert.deepEqual(booted.system.faults, []);
      const [clientLine] = booted.of("client");
      const match = /^accepted (\d+) then InvalidCapability says-revoked=true$/.exec(clientLine ?? "");
      assert.ok(match, `client: ${clientLine}`);
      const accepted = Number(match[1]);
      assert.deepEqual(booted.of("server"), [`took ${accepted} last=${accepted} gaps=0 after-revoke=0`]);
      assert.deepEqual(booted.of("revoker"), ["revoked 2"]);
    }
  });

  it("a receiver that dies with calls in hand wakes every caller with PeerDied (10 times)", async () => {
    for (let round = 0; round < 10; round++) {
      await using booted = await run(system("death", ["server", "c1", "c2", "c3"]), "workers");
      assert.deepEqual(booted.of("server"), ["took 3 calls"]);
      assert.equal(booted.system.faults.length, 1);
      assert.equal(booted.system.faults[0]!.pd, "server");
      for (const c of ["c1", "c2", "c3"]) assert.deepEqual(booted.of(c), ["call: PeerDied", "send after: PeerDied"], c);
    }
  });

  it("a send taken or a call answered just before its endpoint closes ends delivered or answered (400 rounds)", async () => {
    await using booted = await run(system("close-race", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("server"), ["took 400 of 400"]);
    assert.deepEqual(booted.of("client"), ["sends delivered 200, calls answered 200, errors []"]);
  });

  it("a flooding sender does not starve another; closing the endpoint stops it with EndpointClosed", async () => {
    await using booted = await run(system("fairness", ["server", "flooder", "normal"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("normal"), ["1000 calls answered with their own data"]);
    assert.deepEqual(booted.of("server"), ["normal calls served 1000, flooder messages > 0: true"]);
    assert.deepEqual(booted.of("flooder"), ["stopped by EndpointClosed"]);
    const stats = booted.system.ipcStats();
    assert.equal(stats.objectsCreated, 1, "one endpoint");
    assert.equal(stats.objectsDestroyed, 1, "closed by its receiver");
    assert.equal(stats.endpointsLive, 0);
    assert.equal(stats.slotsLive, 0, "the senders' slots went with it");
    assert.ok(stats.syscalls >= 6, `${stats.syscalls} syscalls`);
  });

  it("rate limits per PD and per capability, enforced by the receiver: burst honoured, continuous refill, bytes per second", async () => {
    await using booted = await run(system("rate", ["server", "client", "capclient"]), "workers", {
      rateLimits: { client: { maxMessagesPerSec: 10, maxBytesPerSec: 1e6, burstMultiplier: 2 } },
    });
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), [
      "pd limit: at least the burst true, within refill true, all accounted true",
      "pd limit: a message after the refill is taken",
    ]);
    assert.deepEqual(booted.of("capclient"), [
      "cap limit: at least the burst true, within refill true, all accounted true",
      "narrowing derive keeps the limit: RateLimitExceeded",
      "64 bytes within a burst of 80: ok",
      "64 more bytes at once: RateLimitExceeded",
      "an unlimited capability of the same PD: ok",
    ]);
  });

  it("capabilities in messages: all or nothing, never through themselves, usable by the receiver", async () => {
    await using booted = await run(system("grants", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), [
      "grant one good and one without GRANT: PermissionDenied",
      "grant a capability through itself: InvalidCapability",
      "grant the receiving capability: PermissionDenied",
      "got thanks from server",
    ]);
    assert.deepEqual(booted.of("server"), [`got one with endpoint rights=${1 | 4}`, "got bye with no capabilities"]);
  });

  it("capabilities of messages withdrawn before they were taken do not pile up in the receiver's space", async () => {
    await using booted = await run(system("dead-transfers", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), ["withdrawn 200"]);
    assert.deepEqual(booted.of("server"), ["took last with 1 capability"]);
    // server: 2 endpoints, the 2 it derived to grant, the one it took; client: the 2 it was granted, its
    // endpoint and `give`. (Without dropping dead transfers: 200 more.)
    assert.equal(booted.system.ipcStats().liveCapabilities, 9);
  });

  it("seed 002's syscall interface: create, grant to a pid, call, receive, reply, close", async () => {
    await using booted = await run(
      {
        protectionDomains: [
          { name: "server", priority: 200, program: "programs/ep/syscalls.ts" },
          { name: "client", priority: 100, program: "programs/ep/syscalls.ts" },
        ],
        channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 1 }] }],
      },
      "workers",
    );
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("server"), [
      "spare endpoint 3",
      "use after sys_close: InvalidCapability",
      "sys_receive 4 bytes: ping",
      "sys_receive 4 bytes: pong",
      "sys_receive 3 bytes: bye",
      "from the channel: one",
      "from the channel: two",
    ]);
    assert.deepEqual(booted.of("client"), [
      "sys_call reply: ping!",
      "sys_call with a reply buffer too small: MessageTooLarge",
      "sys_send with a token never granted: InvalidCapability",
    ]);
  });

  it("bounded channels: a queue per sender, QueueFull, order, waiting for room, and a revoke that discards what is queued", async () => {
    await using booted = await run(system("channel", ["server", "client"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("client"), [
      "a fifth message, timeout 0: QueueFull",
      "65 bytes through a channel: MessageTooLarge",
      "send after the revoke: InvalidCapability",
    ]);
    assert.deepEqual(booted.of("server"), [
      "ctl: full",
      "queued: a b c d",
      "then 1000 of 1000 in order",
      "ctl: full again",
      "revoked 2",
      "queued messages after the revoke: Timeout",
      "ctl: done",
    ]);
  });

  it("shared regions: shared read-write, read-only, moved by engine transfer, and referred to by (offset, length)", async () => {
    await using booted = await run(system("regions", ["owner", "reader", "writer"]), "workers");
    assert.deepEqual(booted.system.faults, []);
    const owner = booted.of("owner");
    assert.equal(owner[0], "a region of 0 bytes: InvalidMemoryRegion");
    assert.deepEqual(owner.slice(1, 3).sort(), ["reader says: read hello; write PermissionDenied", "writer refers to (100, 5): world"]);
    assert.deepEqual(owner.slice(3), [
      "revoked 2",
      "a move to a PD that does not exist: ProcessNotFound",
      "the buffer is still here: 8 bytes",
      "after the move: 0 bytes left here",
      "reader says: map InvalidCapability; 16 bytes from owner, all 9: true",
    ]);
    assert.deepEqual(booted.of("reader"), ["write through a read-only map: PermissionDenied", "map after the revoke: InvalidCapability"]);
  });

  it("L4 typed items: a region mapped or granted in a protected call reaches the callee through the kernel's grant", async () => {
    await using booted = await run(
      {
        protectionDomains: [
          { name: "server", priority: 200, program: "programs/ep/fpage.ts" },
          { name: "client", priority: 100, program: "programs/ep/fpage.ts" },
        ],
        channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 1 }] }],
      },
      "workers",
    );
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("server"), [
      "MsgTag(label=0x7, u=0, t=3): map of (100, 13) rights=2: 'fpage payload' writable=false",
      "MsgTag(label=0x7, u=0, t=3): grant of (100, 13) rights=2: 'fpage payload' writable=false",
    ]);
    assert.deepEqual(booted.of("client"), [
      "map: server read 13 bytes; my capability still works",
      "a map with more rights than the capability has: PermissionDenied",
      "grant: server read 13 bytes; my capability moved",
      "send through a moved capability: InvalidCapability",
    ]);
  });

  it("async forms: an AbortSignal fired by a timer ends a wait at once; an aborted call answered late is dropped", async () => {
    await using booted = await run(system("async", ["server", "client"]), "workers");
    // whenIdle cannot see an async PD's promises: wait for the last line (the hang guard is the test's timeout).
    while (!booted.of("server").includes("got bye") && booted.system.faults.length === 0) await new Promise((r) => setTimeout(r, 10));
    await booted.system.whenIdle();
    assert.deepEqual(booted.system.faults, []);
    assert.deepEqual(booted.of("server"), [
      "receiveAsync, aborted by a timer: Aborted; timers ran meanwhile: true",
      "got hi",
      "got slow",
      "then gave-up",
      "late reply delivered=false",
      "got fast",
      "got bye",
    ]);
    assert.deepEqual(booted.of("client"), [
      "callAsync: HI",
      "server: taken",
      "callAsync aborted after the server took it: Aborted",
      "the next call gets its own reply: FAST",
    ]);
  });
});
