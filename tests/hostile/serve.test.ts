// serve() (src/pd/serve.ts) against a hostile client, on real worker threads: a flood of sends and of calls
// abandoned at once, then the attacker's death with messages in flight, must cost only the attacker. The
// honest client gets every answer, its own, and the server keeps running.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { boot, type SystemDescription } from "../../src/isokit.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** programs/serve-flood.ts's CALLS (not imported: the program loads isokit by its package name). */
const CALLS = 200;

describe("serve() with a hostile client (workers)", () => {
  it("a flood, abandoned calls and the attacker's death leave the honest client served and the server running", async () => {
    const program = "programs/serve-flood.ts";
    const description: SystemDescription = {
      protectionDomains: [
        { name: "server", priority: 200, program },
        { name: "attacker", priority: 100, program },
        { name: "honest", priority: 100, program },
      ],
      // the channels give the server the authority to grant both clients a capability by name
      channels: [
        { ends: [{ pd: "server", id: 0 }, { pd: "attacker", id: 0 }] },
        { ends: [{ pd: "server", id: 1 }, { pd: "honest", id: 0 }] },
      ],
    };
    const lines: string[] = [];
    const system = await boot(description, { baseDir: here, initTimeoutMs: 60_000, onOutput: (e) => lines.push(`${e.pd}: ${e.text}`) });
    try {
      await system.whenIdle();
      assert.ok(lines.includes(`honest: ${CALLS}/${CALLS} answered with their own bytes`), lines.join("\n"));
      assert.ok(lines.includes("attacker: flooded 3000"), lines.join("\n"));
      assert.deepEqual(system.faults.map((f) => `${f.pd} ${f.entry}`), ["attacker init"]);
      const states = Object.fromEntries(system.pds().map((pd) => [pd.name, pd.state]));
      assert.equal(states["server"], "running");
      assert.equal(states["honest"], "running");
    } finally {
      await system.shutdown();
    }
  });
});
