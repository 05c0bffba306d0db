// The README and the per-use pages run as written: every fenced block is a file to write, a script or shell
// line to run, or output to check (tests/package/snippets.ts says which), in a fresh project whose `isokit` is
// this checkout. The Quickstart's two lines are checked here too; tests/package/pack.test.ts runs a page
// against the packed and installed package.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { blocks, linkedProject, roleOf, run, runPage } from "./package/snippets.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The pages every snippet of which must run (the reference pages in docs/ hold excerpts, marked as such). */
const PAGES = ["README.md", "docs/microkit.md", "docs/plugin-host.md", "docs/streams.md", "docs/regions.md"];

/** dist/ older than some file of src/ (bin/isokit.js makes the same check for the command). */
function distIsStale(): boolean {
  const built = join(repo, "dist", "isokit.js");
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  return readdirSync(join(repo, "src"), { recursive: true, withFileTypes: true }).some(
    (e) => e.isFile() && statSync(join(e.parentPath, e.name)).mtimeMs > at,
  );
}

describe("README and docs pages", () => {
  before(async () => {
    // A script's `import "isokit"` loads dist/ (package.json "exports"), so it must be current.
    // tsc emits even where the type check fails (npm test's typecheck reports those): what counts here is that
    // dist/ is current afterwards.
    if (distIsStale()) {
      const built = await run("npm", ["run", "build", "--silent"], repo);
      assert.ok(!distIsStale(), `npm run build left dist/ stale:\n${built.stdout}${built.stderr}`);
    }
  });

  it("the Quickstart is two shell lines: install and run an example, install and run the tests", async () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    const quickstart = blocks(readme).filter((b) => roleOf(b) === "quickstart");
    assert.equal(quickstart.length, 1);
    const lines = quickstart[0]!.code.trim().split("\n");
    assert.equal(lines.length, 2);
    const [first, second] = lines as [string, string];
    assert.match(first, /^npm ci && npx isokit run \S+\.system$/);
    assert.equal(second, "npm ci && npm test");
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts["test"] !== undefined && pkg.scripts["prepare"] !== undefined);
    // The run half of the first line, in this checkout (npm ci would replace node_modules under the other tests).
    const ran = await run("sh", ["-c", first.replace(/^npm ci && /, "")], repo);
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    assert.match(ran.stderr, /stopped \(idle\)/);
  });

  for (const page of PAGES) {
    it(`${page}: every block runs as written`, async (t) => {
      if (!existsSync(join(repo, page))) {
        t.skip(`${page} is not written yet`);
        return;
      }
      const project = linkedProject(repo);
      try {
        const count = await runPage(join(repo, page), project);
        assert.ok(count > 0 || page === "README.md", `${page}: no block was run`);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    });
  }
});
