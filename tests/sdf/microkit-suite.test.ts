// seL4 Microkit's own tool test suite (tool/microkit/tests/test.rs, 147 cases over 143 fixtures; origin and
// commit in tests/fixtures/sdf/microkit-suite/README.md), run through `isokit check`'s library entry: each
// case's file, under the kernel configuration the case names, gives Microkit's message — its first error,
// located, with Microkit's text after `file:line:col: error: ` (see src/sdf/microkit.ts) — or is accepted.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { checkSystemFile } from "../../src/cli/check.ts";
import { formatDiagnostic } from "../../src/errors.ts";
import { microkitText } from "../../src/sdf/index.ts";
import { suite } from "./microkit-suite.cases.ts";
import { fixtures } from "./support.ts";

const dir = join(fixtures, "microkit-suite");
const prefills = join(dir, "prefills");

describe("seL4 Microkit's tool test suite", () => {
  test("147 cases over 143 fixtures, every fixture used", () => {
    assert.equal(suite.length, 147);
    const used = new Set(suite.map((c) => c.fixture));
    assert.equal(used.size, 143);
    const files = readdirSync(dir).filter((f) => f.endsWith(".system"));
    assert.deepEqual([...used].sort(), files.sort());
    assert.equal(new Set(suite.map((c) => c.name)).size, suite.length);
  });

  for (const c of suite) {
    const arch = c.overrides?.arch ?? c.config;
    test(`${c.name} (${c.fixture}, ${arch}${c.overrides === undefined ? "" : ` ${JSON.stringify(c.overrides)}`})`, () => {
      const result = checkSystemFile(join(dir, c.fixture), c.fixture, { arch: c.config, config: c.overrides, searchPaths: [prefills] });
      if (c.expected === "ok") {
        assert.ok(result.ok, result.ok ? "" : result.diagnostics.map(formatDiagnostic).join("\n"));
        return;
      }
      assert.ok(!result.ok, `accepted; Microkit says: ${c.expected}`);
      const first = result.diagnostics.find((d) => d.severity === "error");
      assert.ok(first !== undefined && first.location !== undefined, "every error is located");
      const line = formatDiagnostic(first);
      assert.ok(line.startsWith(`${first.location.file}:${first.location.line}:${first.location.column}: error: `), line);
      const expected = c.expected.replace(/^Error: /, "");
      assert.ok(microkitText(first).startsWith(expected), `Microkit: ${expected}\nisokit:   ${microkitText(first)}\n(${line})`);
    });
  }
});
