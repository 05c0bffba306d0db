// The core runtime, with the same PD programs in both modes: real worker threads, and one thread.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { clientServer, modes, run } from "./helpers.ts";

for (const mode of modes) {
  describe(`runtime (${mode})`, () => {
    test("ppcall carries data both ways", async () => {
      await using s = await run(clientServer("multiply"), mode);
      assert.deepEqual(s.of("multiply"), ["reply label=0 count=1 MR0=42"]);
      assert.deepEqual(s.system.faults, []);
    });

    test("only `count` registers are copied, each way", async () => {
      await using s = await run(clientServer("beyond"), mode);
      // The server never wrote its own MR2/MR3, so they are 0, not the caller's 33/44.
      assert.deepEqual(s.of("server"), ["saw count=2 MR0=11 MR1=22 MR2=0 MR3=0"]);
      // The reply has count 1: MR0 is the server's 500, MR1 is still the client's own 22, not 501.
      assert.deepEqual(s.of("beyond"), ["reply count=1 MR0=500 MR1=22"]);
    });

    test("notifications coalesce into one channel set", async () => {
      await using s = await run(clientServer("coalesce"), mode);
      // Twenty notifies on two channels while the client was blocked in its ppcall: one delivery of both.
      assert.deepEqual(s.of("coalesce"), ["call returned", "notified ChannelSet{13, 14}"]);
    });

    test("a deferred notify is sent when the entry point returns; a second one is refused", async () => {
      await using s = await run(clientServer("deferred"), mode);
      assert.deepEqual(s.of("deferred"), ["call returned", "second deferred refused: true", "notified ChannelSet{13}"]);
    });

    test("nested ppcall from inside protected() to a higher priority", async () => {
      await using s = await run(
        {
          protectionDomains: [
            { name: "client", priority: 100, program: "programs/nested-client.ts" },
            { name: "middle", priority: 150, program: "programs/middle.ts" },
            { name: "top", priority: 200, program: "programs/top.ts" },
          ],
          channels: [
            { ends: [{ pd: "client", id: 3, pp: true }, { pd: "middle", id: 2 }] },
            { ends: [{ pd: "middle", id: 1, pp: true }, { pd: "top", id: 0 }] },
          ],
        },
        mode,
      );
      // 4 -> middle +1 = 5 -> top *10 = 50 (label 107) -> middle *2 = 100 (label 108)
      assert.deepEqual(s.of("client"), ["nested reply label=108 MR0=100"]);
    });

    test("invalid channel use throws a typed error naming the operation and channel", async () => {
      await using s = await run(clientServer("invalid"), mode);
      assert.deepEqual(s.of("invalid"), [
        "notify 5 -> InvalidChannel: notify: not valid for channel 5 (PD 'invalid' holds no such channel)",
        `ppcall 14 -> PermissionDenied: ppcall: not valid for channel 14 (PD 'invalid' has no pp="true" on this end)`,
        "Channel(62) -> InvalidChannel: Channel: id must be an integer in 0..61, got 62",
        "MessageInfo count 65 -> MessageTooLarge: MessageInfo: count 65 exceeds the 64 message registers a message can carry",
        "setMr(64) -> InvalidArgument: setMr: register index must be 0..63, got 64",
      ]);
    });

    test("20,000 calls with random counts and 64-bit values arrive intact, reversed and back", async () => {
      await using s = await run(
        {
          protectionDomains: [
            { name: "client", priority: 1, program: "programs/stress-client.ts" },
            { name: "server", priority: 2, program: "programs/stress-server.ts" },
          ],
          channels: [{ ends: [{ pd: "client", id: 0, pp: true }, { pd: "server", id: 0 }] }],
        },
        mode,
      );
      assert.deepEqual(s.of("client"), ["calls=20000 bad=0"]);
    });

    test("a callee that throws in protected() fails the call with PeerDied and is stopped", async () => {
      await using s = await run(clientServer("throws"), mode);
      assert.deepEqual(s.of("throws"), [
        "call 0 -> PeerDied: ppcall: PD 'server' at the other end of channel 13 has died",
        "call 1 -> PeerDied: ppcall: PD 'server' at the other end of channel 13 has died",
        "notify after death -> PeerDied: notify: PD 'server' at the other end of channel 13 has died",
      ]);
      assert.equal(s.system.faults.length, 1);
      const fault = s.system.faults[0]!;
      assert.equal(fault.pd, "server");
      assert.equal(fault.entry, "protected");
      assert.match(fault.error.message, /protected: PD 'server' threw Error: boom from server/);
      assert.deepEqual(
        s.system.pds().map((p) => [p.name, p.state]),
        [
          ["throws", "running"],
          ["server", "faulted"],
        ],
      );
    });
  });
}
