// Bounded time and memory (docs/supervision.md), on real workers: an infinite loop in protected(), a heap
// bomb and a stack bomb each fault their PD alone, with a typed error for its caller, while every other PD
// keeps running and answering; waits the kernel can see (a ppcall to a slow server, an endpoint receive) do
// not count against a PD's budget.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isIpcError, type SystemDescription } from "../../src/index.ts";
import { run } from "../helpers.ts";

const SERVER = "hostile/programs/bomb-server.ts";
const CLIENT = "hostile/programs/bomb-client.ts";

function bombs(loop: SystemDescription["protectionDomains"][number] = { name: "loop", priority: 100, program: SERVER, budget: 300_000 }): SystemDescription {
  return {
    protectionDomains: [
      { name: "client", priority: 10, program: CLIENT },
      loop,
      { name: "heap", priority: 100, program: SERVER },
      { name: "stack", priority: 100, program: SERVER },
      { name: "echo", priority: 100, program: SERVER },
    ],
    channels: [
      { ends: [{ pd: "client", id: 1, pp: true }, { pd: "loop", id: 1 }] },
      { ends: [{ pd: "client", id: 2, pp: true }, { pd: "heap", id: 1 }] },
      { ends: [{ pd: "client", id: 3, pp: true }, { pd: "stack", id: 1 }] },
      { ends: [{ pd: "client", id: 9, pp: true }, { pd: "echo", id: 1 }] },
    ],
  };
}

describe("hostile: bounded time and memory (workers)", () => {
  test("an infinite loop, a heap bomb and a stack bomb in protected() each fault their PD alone; the others answer", async () => {
    await using s = await run(bombs(), "workers", { limits: { heapMbPerPd: 128 } });
    assert.deepEqual(s.of("client"), [
      "echo -> answered 42",
      "loop -> PeerDied",
      "echo -> answered 42",
      "heap -> PeerDied",
      "echo -> answered 42",
      "stack -> PeerDied",
      "echo -> answered 42",
    ]);
    const faults = s.system.faults.map((f) => [f.pd, f.entry, isIpcError(f.error) ? f.error.code : f.error.name]);
    assert.deepEqual(faults, [
      ["loop", "watchdog", "Timeout"],
      ["heap", "memory", "OutOfMemory"],
      ["stack", "protected", "EntryPointFailed"],
    ]);
    const [loop, heap, stack] = s.system.faults;
    // The loop's budget is its Microkit budget attribute (300,000 µs), not the 5 s default.
    assert.match(loop!.error.message, /^watchdog: PD 'loop' ran \d+ ms in one entry point without waiting, past its budget of 300 ms/);
    assert.match(heap!.error.message, /^memory: PD 'heap' ran out of its heap \(128 MB, Limits.heapMbPerPd\)/);
    assert.match(stack!.error.message, /^protected: PD 'stack' threw RangeError: Maximum call stack size exceeded/);
    assert.deepEqual(
      s.system.pds().map((p) => [p.name, p.state]),
      [["client", "running"], ["loop", "faulted"], ["heap", "faulted"], ["stack", "faulted"], ["echo", "running"]],
    );
  });

  test("a child over its budget goes to its parent's fault() with the watchdog's label; stopped, its caller gets PeerDied", async () => {
    const description = bombs({ name: "parent-stop", priority: 250, program: "programs/parent.ts", children: [{ name: "loop", id: 1, priority: 200, program: SERVER, budget: 300_000 }] });
    await using s = await run(description, "workers", { limits: { heapMbPerPd: 128 } });
    assert.deepEqual(s.of("parent-stop"), ["fault from Child(1) label=2; resume=false"]);
    assert.equal(s.of("client")[1], "loop -> PeerDied");
    assert.deepEqual(s.system.faults[0] && [s.system.faults[0].pd, s.system.faults[0].entry, s.system.faults[0].handledBy], ["loop", "watchdog", "parent-stop"]);
    assert.equal(s.system.pds().find((p) => p.name === "echo")?.state, "running");
  });

  test("a caller blocked in a ppcall to a slow server longer than its own budget is not faulted", async () => {
    await using s = await run(
      {
        protectionDomains: [
          { name: "patient", priority: 10, program: CLIENT, budget: 100_000 },
          { name: "slow", priority: 100, program: SERVER, budget: 120_000_000 },
        ],
        channels: [{ ends: [{ pd: "patient", id: 1, pp: true }, { pd: "slow", id: 1 }] }],
      },
      "workers",
    );
    assert.deepEqual(s.of("patient"), ["slow -> answered 42"]);
    assert.deepEqual(s.system.faults, []);
  });

  test("a PD waiting on an endpoint longer than its budget is not faulted", async () => {
    await using s = await run({ protectionDomains: [{ name: "receiver", priority: 10, program: "hostile/programs/bomb-receiver.ts", budget: 100_000 }], channels: [] }, "workers");
    assert.deepEqual(s.of("receiver"), ["receive -> Timeout"]);
    assert.deepEqual(s.system.faults, []);
  });
});
