/**
 * Runs the fenced code blocks of a Markdown page as a newcomer would, in a project directory where `isokit`
 * resolves to a package (the checkout, linked; or a tarball installed by npm).
 *
 * What a block's info string means (anything else is shown, never run):
 *
 *   ```ts file=PATH      (or js, mts, xml, json)  written to PATH in the project, in page order
 *   ```ts                a script: written to a file of its own and run with `node --import tsx`
 *   ```sh                each line (without `# ...` comments) run with `sh -c` in the project
 *   ```text output       what the block just before printed: every line must appear, in order within
 *                        stdout and within stderr (`…` stands for any text, e.g. a time)
 *   ```sh quickstart     the README's Quickstart: checked by the README test, not run here
 *   ```text / ```ts excerpt / ...   output or part of a larger file: not run
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";

export interface Block {
  readonly lang: string;
  readonly meta: readonly string[];
  readonly code: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

const FENCE = /^```(\S*)(.*)$/;

/** The fenced blocks of `markdown`, in order. */
export function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j] !== "```"; j++) body.push(lines[j]!);
    assert.ok(j < lines.length, `line ${i + 1}: a code block that is never closed`);
    out.push({ lang: open[1]!, meta: open[2]!.trim().split(/\s+/).filter(Boolean), code: body.join("\n") + "\n", line: i + 1 });
    i = j;
  }
  return out;
}

function fileOf(block: Block): string | undefined {
  return block.meta.find((m) => m.startsWith("file="))?.slice("file=".length);
}

/** What a block is for, from its info string. */
export function roleOf(block: Block): "file" | "script" | "shell" | "output" | "quickstart" | "shown" {
  if (fileOf(block) !== undefined) return "file";
  if (block.lang === "sh" && block.meta.includes("quickstart")) return "quickstart";
  if (block.meta.length > 0 && block.meta[0] !== "output") return "shown";
  if (block.lang === "ts" || block.lang === "js") return "script";
  if (block.lang === "sh") return "shell";
  if (block.lang === "text" && block.meta.includes("output")) return "output";
  return "shown";
}

export interface Ran {
  readonly command: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // A hang guard only: the commands finish in seconds.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ command: [command, ...args].join(" "), code, stdout, stderr });
    });
  });
}

/** A fresh project directory whose `isokit` (and `tsx`, and `npx isokit`) is the checkout at `repo`, linked. */
export function linkedProject(repo: string): string {
  const dir = mkdtempSync(join(tmpdir(), "isokit-snippets-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "try-isokit", private: true, type: "module" }, null, 2));
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  symlinkSync(repo, join(dir, "node_modules", "isokit"), "dir");
  symlinkSync(join(repo, "node_modules", "tsx"), join(dir, "node_modules", "tsx"), "dir");
  symlinkSync(join("..", "isokit", "bin", "isokit.js"), join(dir, "node_modules", ".bin", "isokit"));
  return dir;
}

/** Does every line of `expected` appear in what `ran` printed (in order within each stream)? */
export function assertPrinted(ran: Ran, expected: string, where: string): void {
  const streams = [ran.stdout.split("\n"), ran.stderr.split("\n")];
  const next = [0, 0];
  for (const want of expected.split("\n").filter((l) => l.trim() !== "")) {
    const pattern = new RegExp(`^${want.split("…").map(escapeRegExp).join(".*")}$`);
    let found = false;
    for (let s = 0; s < streams.length && !found; s++) {
      const lines = streams[s]!;
      for (let k = next[s]!; k < lines.length; k++) {
        if (pattern.test(lines[k]!)) {
          next[s] = k + 1;
          found = true;
          break;
        }
      }
    }
    assert.ok(found, `${where}: expected the line ${JSON.stringify(want)} in the output of \`${ran.command}\`:\n--- stdout\n${ran.stdout}--- stderr\n${ran.stderr}`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Runs every block of the page `path` in `project`: files written, scripts and shell lines run (each must
 * exit 0), output blocks checked against the command before them. Returns how many blocks it ran or checked.
 */
export async function runPage(path: string, project: string): Promise<number> {
  const page = readFileSync(path, "utf8");
  const env = { PATH: `${join(project, "node_modules", ".bin")}${delimiter}${process.env["PATH"] ?? ""}` };
  let last: Ran | undefined;
  let count = 0;
  let scripts = 0;
  for (const block of blocks(page)) {
    const where = `${path}:${block.line}`;
    const role = roleOf(block);
    if (role === "file") {
      const target = join(project, fileOf(block)!);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, block.code);
    } else if (role === "script") {
      const file = `snippet-${++scripts}.${block.lang}`;
      writeFileSync(join(project, file), block.code);
      last = await run(process.execPath, ["--import", "tsx", file], project, env);
      assert.equal(last.code, 0, `${where}: the script exited ${String(last.code)}:\n--- stdout\n${last.stdout}--- stderr\n${last.stderr}`);
    } else if (role === "shell") {
      for (const line of block.code.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim())) {
        if (line === "" || line.startsWith("#")) continue;
        last = await run("sh", ["-c", line], project, env);
        assert.equal(last.code, 0, `${where}: \`${line}\` exited ${String(last.code)}:\n--- stdout\n${last.stdout}--- stderr\n${last.stderr}`);
      }
    } else if (role === "output") {
      assert.ok(last !== undefined, `${where}: an output block with no command before it`);
      assertPrinted(last, block.code, where);
    } else {
      continue;
    }
    count++;
  }
  return count;
}
