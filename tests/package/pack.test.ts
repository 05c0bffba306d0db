// The package as a user gets it: `npm pack`, the tarball installed by npm into a fresh project, then a docs page
// run against it as written (`npx isokit run` of its system and its boot scripts), a program that checks there
// is one copy of the runtime (an error thrown by isokit/microkit is an `IpcError` of `isokit`, in the PD and in
// the booting thread), and a type check of a consumer against the shipped declarations.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { run, runPage, assertPrinted } from "./snippets.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const work = mkdtempSync(join(tmpdir(), "isokit-pack-"));
const project = join(work, "project");

describe("the packed package, installed", () => {
  before(async () => {
    // tsc emits even where the type check fails (the typecheck of npm test reports that); the tarball takes
    // what the build wrote, so `npm pack` need not run `prepare` again.
    const built = await run("npm", ["run", "build", "--silent"], repo);
    assert.ok(readdirSync(join(repo, "dist")).includes("isokit.js"), built.stdout + built.stderr);
    const packed = await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], repo);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = join(work, packed.stdout.trim().split("\n").at(-1)!);
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "try-isokit", private: true, type: "module" }, null, 2));
    const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], project, {}, 300_000);
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  });

  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("ships the compiled runtime and CLI, not the sources", () => {
    const files = readdirSync(join(project, "node_modules", "isokit"));
    assert.ok(files.includes("dist") && files.includes("bin") && files.includes("package.json"), files.join(", "));
    assert.ok(!files.includes("src") && !files.includes("tests"), files.join(", "));
  });

  it("docs/microkit.md runs as written against the installed package", async () => {
    assert.ok((await runPage(join(repo, "docs", "microkit.md"), project)) > 0);
  });

  it("one copy of the runtime: errors from isokit/microkit are isokit's IpcError in the PD and in the booting thread", async () => {
    writeFileSync(
      join(project, "probe.ts"),
      `import { Channel, debugPrintln, protectionDomain } from "isokit/microkit";
import { IpcError, isIpcError } from "isokit";
export default protectionDomain({
  init() {
    try {
      new Channel(9).notify();
    } catch (error) {
      debugPrintln(\`instanceof=\${String(error instanceof IpcError)} isIpcError=\${String(isIpcError(error, "InvalidChannel"))}\`);
    }
  },
});
`,
    );
    writeFileSync(
      join(project, "host.ts"),
      `import { boot, IpcError } from "isokit";
const system = await boot({ protectionDomains: [{ name: "probe", priority: 1, program: "./probe.ts" }], channels: [] }, {
  onOutput: (e) => console.log(\`\${e.pd}: \${e.text}\`),
});
await system.whenIdle();
await system.shutdown();
try {
  await boot({ protectionDomains: [{ name: "a", priority: 1, program: "./probe.ts" }, { name: "a", priority: 2, program: "./probe.ts" }], channels: [] });
} catch (error) {
  console.log(\`host instanceof=\${String(error instanceof IpcError)} code=\${(error as IpcError).code}\`);
}
`,
    );
    const ran = await run(process.execPath, ["--import", "tsx", "host.ts"], project);
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    assertPrinted(ran, "probe: instanceof=true isIpcError=true\nhost instanceof=true code=InvalidSystem", "host.ts");
  });

  it("a TypeScript program outside a \"type\": \"module\" package runs (the kernel compiles it, Node does not load it as CommonJS)", async () => {
    const dir = join(project, "plain");
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "plain", private: true }));
    writeFileSync(join(dir, "hello.system"), '<system><protection_domain name="hello" priority="1"><program_image path="hello.elf" /></protection_domain></system>\n');
    writeFileSync(join(dir, "hello.ts"), 'import { protectionDomain, debugPrintln } from "isokit/microkit";\nexport default protectionDomain({ init() { debugPrintln("hi"); } });\n');
    const ran = await run(process.execPath, [join(project, "node_modules", "isokit", "bin", "isokit.js"), "run", "hello.system"], dir);
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    assertPrinted(ran, "hello: hi", "plain/hello.ts");
  });

  it("a consumer type-checks against the shipped declarations (every subpath resolves; internals are not on them)", async () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2023", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [join(repo, "node_modules", "@types")] },
        files: ["consumer.ts"],
      }),
    );
    writeFileSync(
      join(project, "consumer.ts"),
      `import { boot, IpcError, type SystemDescription } from "isokit";
import { protectionDomain, Channel, MessageInfo } from "isokit/microkit";
import { createEndpoint, serve, type Capability } from "isokit/endpoints";
import { memoryRegion } from "isokit/regions";
import { defineLayout, struct, f64 } from "isokit/layouts";
import { HOST } from "isokit/streams";
import { MsgTag } from "isokit/l4";
import { encodeValue, writeCapnp } from "isokit/codecs";
import { sys_send } from "isokit/compat";
export const used = [boot, IpcError, protectionDomain, Channel, MessageInfo, createEndpoint, serve, memoryRegion, defineLayout(struct({ x: f64 })), HOST, MsgTag, encodeValue, writeCapnp, sys_send];
export const description: SystemDescription = { protectionDomains: [], channels: [] };
export function internals(cap: Capability): void {
  // @ts-expect-error the runtime's per-capability state is not part of the published type
  void cap.sendState;
}
`,
    );
    const checked = await run(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], project);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  });
});
