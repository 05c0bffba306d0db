// seL4 Microkit's own tool test suite (tool/microkit/tests/test.rs, 147 cases over 143 fixtures; origin and
// commit in tests/fixtures/sdf/microkit-suite/README.md), run through `isokit check`'s library entry: each
// case's file, under the kernel configuration the case names, gives Microkit's message — its first error,
// located, with Microkit's text after `file:line:col: error: ` (see src/sdf/microkit.ts) — or is accepted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
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

describe("isokit check on the command line", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const isokit = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [join(root, "bin/isokit.js"), ...args], { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const fixture = (name: string): string => join("tests/fixtures/sdf/microkit-suite", name);

  test("--arch x86_64 gives Microkit's x86 message, located; the default (aarch64) accepts what x86 refuses and back", () => {
    const x86 = isokit("check", "--arch", "x86_64", fixture("irq_arm_on_x86.system"));
    assert.equal(x86.status, 2, x86.stderr);
    assert.equal(x86.stderr.trim(), `${fixture("irq_arm_on_x86.system")}:10:9: error: ARM and RISC-V IRQs are not supported on x86 on element 'irq'`);
    const arm = isokit("check", fixture("irq_arm_on_x86.system"));
    assert.equal(arm.status, 0, arm.stderr);
    const msi = isokit("check", "--arch", "x86_64", fixture("irq_msi_pci_valid.system"));
    assert.equal(msi.status, 0, msi.stderr);
    assert.match(msi.stderr, /irq_msi_pci_valid\.system:10:9: warning: 'irq' is not supported by isokit/);
  });

  test("--config and --search-path change the rules as in the suite; bad values are one-line usage errors", () => {
    const smp = isokit("check", "--config", "cores=4", fixture("domain_smp.system"));
    assert.equal(smp.status, 2);
    assert.match(smp.stderr, /domain_smp\.system:8:5: error: The domain scheduler is not supported in multicore builds of seL4/);
    const found = isokit("check", "--search-path", fixture("prefills"), fixture("mr_prefill_no_size_valid.system"));
    assert.equal(found.status, 0, found.stderr);
    // No size: sized from the file (25 bytes), rounded up to a page, as Microkit does.
    assert.match(found.stdout, /^ {2}prefilled {2}4096 bytes$/m);
    const missing = isokit("check", "--search-path", fixture("prefills"), fixture("mr_prefill_does_not_exists.system"));
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /error: unable to find prefill file: 'abcxyz\.bin' on element 'memory_region'/);
    const bad = isokit("check", "--arch", "mips", fixture("domain_smp.system"));
    assert.equal(bad.status, 2);
    assert.deepEqual(bad.stderr.trim().split("\n"), ["isokit: unknown --arch 'mips' (known: aarch64, riscv64, x86_64)", "Try 'isokit check --help'."]);
  });
});
