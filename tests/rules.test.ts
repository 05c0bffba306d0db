// Rules the kernel enforces on a description written in TypeScript, with Microkit's wording.
import assert from "node:assert/strict";
import { test } from "node:test";
import { boot, IpcError, type SystemDescription } from "../src/index.ts";
import { testsDir } from "./helpers.ts";

const pd = (name: string, priority: number) => ({ name, priority, program: "programs/server.ts" });

async function refused(description: SystemDescription): Promise<string[]> {
  try {
    const system = await boot(description, { baseDir: testsDir });
    await system.shutdown();
  } catch (error) {
    assert.ok(error instanceof IpcError);
    assert.equal(error.code, "InvalidSystem");
    return error.diagnostics.map((d) => d.message);
  }
  assert.fail("boot accepted an invalid system");
}

test("ppcall only to a strictly higher priority", async () => {
  assert.deepEqual(
    await refused({
      protectionDomains: [pd("test1", 2), pd("test2", 1)],
      channels: [{ ends: [{ pd: "test1", id: 0, pp: true }, { pd: "test2", id: 0 }] }],
    }),
    [
      "PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd test1 (priority: 2) to pd test2 (priority: 1)",
    ],
  );
  assert.equal(
    (
      await refused({
        protectionDomains: [pd("a", 5), pd("b", 5)],
        channels: [{ ends: [{ pd: "a", id: 0, pp: true }, { pd: "b", id: 0 }] }],
      })
    ).length,
    1,
  );
});

test("no pp on both ends", async () => {
  assert.deepEqual(
    await refused({
      protectionDomains: [pd("a", 1), pd("b", 2)],
      channels: [{ ends: [{ pd: "a", id: 0, pp: true }, { pd: "b", id: 0, pp: true }] }],
    }),
    ["cannot ppc bidirectionally on element 'channel'"],
  );
});

test("channel ids 0..61 and unique per PD", async () => {
  assert.deepEqual(
    await refused({
      protectionDomains: [pd("a", 1), pd("b", 2)],
      channels: [
        { ends: [{ pd: "a", id: 62 }, { pd: "b", id: 0 }] },
        { ends: [{ pd: "a", id: 1 }, { pd: "b", id: 0 }] },
        { ends: [{ pd: "a", id: -1 }, { pd: "b", id: 3 }] },
      ],
    }),
    [
      "id must be < 62 on element 'end'",
      "duplicate channel id: 0 in protection domain: 'b'",
      "id must be >= 0 on element 'end'",
    ],
  );
});

test("unique PD names and known PDs at channel ends", async () => {
  assert.deepEqual(
    await refused({
      protectionDomains: [pd("test", 1), pd("test", 2)],
      channels: [{ ends: [{ pd: "test", id: 0 }, { pd: "invalidpd", id: 0 }] }],
    }),
    ["duplicate protection domain name 'test'.", "invalid PD name 'invalidpd' on element 'end'"],
  );
});
