// A SystemDescription written in JavaScript (src/sdf/shape.ts): boot() refuses one of the wrong shape with
// InvalidSystem naming each wrong field's path, before any rule or the planner reads it (they used to throw
// TypeErrors from deep inside), and accepts every description the .system parser makes.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { boot, IpcError } from "../src/index.ts";
import { parseSystem } from "../src/sdf/index.ts";
import { descriptionShapeProblems } from "../src/sdf/shape.ts";

const program = "tests/programs/echo-server.ts";
const pd = { name: "a", priority: 1, program };

async function refused(description: unknown): Promise<string> {
  try {
    const system = await boot(description as never, { mode: "in-process", onOutput: () => undefined });
    await system.shutdown();
  } catch (e) {
    assert.ok(e instanceof IpcError, String(e));
    assert.equal(e.code, "InvalidSystem");
    return e.message;
  }
  assert.fail("booted");
}

describe("description shape", () => {
  it("refuses a description of the wrong shape with InvalidSystem naming the field's path", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /the description: expected an object, got null/],
      [{ protectionDomains: [pd] }, /channels: required, missing/],
      [{ channels: [] }, /protectionDomains: required, missing/],
      [{ protectionDomains: [{}], channels: [] }, /protectionDomains\[0\]\.name: required, missing/],
      [{ protectionDomains: [{ ...pd, name: 5 }], channels: [] }, /protectionDomains\[0\]\.name: expected a string, got number/],
      [{ protectionDomains: [{ ...pd, program: 7 }], channels: [] }, /protectionDomains\[0\]\.program: expected a string, got number/],
      [{ protectionDomains: [pd], channels: [{}] }, /channels\[0\]\.ends: required, missing/],
      [{ protectionDomains: [pd], channels: [{ ends: [{ pd: "a", id: "0" }, { pd: "a", id: 1 }] }] }, /channels\[0\]\.ends\[0\]\.id: expected a number, got string/],
      [{ protectionDomains: [{ ...pd, maps: 3 }], channels: [] }, /protectionDomains\[0\]\.maps: expected an array, got number/],
      [{ protectionDomains: [pd], channels: [], memoryRegions: {} }, /memoryRegions: expected an array, got object/],
      [{ protectionDomains: [{ ...pd, children: [{ name: "c", program, maps: [{ mr: "m" }] }] }], channels: [] }, /protectionDomains\[0\]\.children\[0\]\.maps\[0\]\.vaddr: required, missing/],
      [{ protectionDomains: [{ ...pd, progam: program }], channels: [] }, /protectionDomains\[0\]\.progam: not a property of protectionDomains\[0\]/],
      [{ protectionDomains: [{ ...pd, irqs: [{ id: 1, trigger: "rising" }] }], channels: [] }, /irqs\[0\]\.trigger: expected one of 'edge', 'level', got 'rising'/],
    ];
    for (const [description, message] of cases) assert.match(await refused(description), message);
  });

  it("refuses a PD that is one of its own children, and accepts one object used in two places", async () => {
    const looped: Record<string, unknown> = { ...pd };
    looped["children"] = [looped];
    assert.match(await refused({ protectionDomains: [looped], channels: [] }), /protectionDomains\[0\]\.children\[0\]: contains itself/);
    const map = { mr: "m", vaddr: 0x400_0000 };
    const shared = { protectionDomains: [{ ...pd, maps: [map] }, { ...pd, name: "b", maps: [map] }], channels: [] };
    assert.deepEqual(descriptionShapeProblems(shared), []);
  });

  it("reports at most 20 problems", () => {
    const problems = descriptionShapeProblems({ protectionDomains: Array.from({ length: 50 }, () => ({})), channels: [] });
    assert.equal(problems.length, 20);
  });

  it("accepts every description the .system parser makes (the fixtures and the examples)", () => {
    const dirs = ["fixtures/sdf/valid/", "fixtures/sdf/microkit-suite/", "fixtures/sdf/rules/", ...readdirSync(new URL("../examples/", import.meta.url)).map((e) => `../examples/${e}/`)];
    let checked = 0;
    for (const dir of dirs) {
      const url = new URL(dir, import.meta.url);
      for (const f of readdirSync(url).filter((name) => name.endsWith(".system"))) {
        const parsed = parseSystem(readFileSync(new URL(f, url), "utf8"), f);
        if (!parsed.ok) continue;
        assert.deepEqual(descriptionShapeProblems(parsed.system), [], `${dir}${f}`);
        checked++;
      }
    }
    assert.ok(checked >= 30, `checked ${checked}`);
  });
});
