// The isokit command's conventions (issue 15, "The command"): --version, one-line usage errors, which stream
// carries what, exit codes, clean stops on signals at any moment, one error format, --timeout from the start.
// Each test runs bin/isokit.js as a real child process with piped output (so plain text). Signals are sent
// only after a line that proves the state under test has been seen; timeouts are hang guards only.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(root, "bin/isokit.js");
const env = { ...process.env, NO_COLOR: "1" };
const runtime = join(root, "src/index.ts");

function isokit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8", timeout: 60_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A one-PD system in a temporary directory; `.mts` so it is a module without a package.json. */
const fixtures = mkdtempSync(join(tmpdir(), "isokit-cli-"));
after(() => {
  rmSync(fixtures, { recursive: true, force: true });
});
function onePd(name: string, program: string): string {
  writeFileSync(join(fixtures, `${name}.mts`), program);
  const system = join(fixtures, `${name}.system`);
  writeFileSync(
    system,
    `<?xml version="1.0" encoding="UTF-8"?>\n<system>\n    <protection_domain name="${name}" priority="1">\n` +
      `        <program_image path="${name}.elf" />\n    </protection_domain>\n</system>\n`,
  );
  return system;
}

// init() says it has started, then blocks for 2 s: boot is provably still running after that line. It spins: the
// PD runs confined, without Atomics to sleep on.
const slowInit = onePd(
  "slow",
  `import { debugPrintln, protectionDomain } from ${JSON.stringify(runtime)};
export default protectionDomain({
  init() {
    debugPrintln("init: waiting");
    for (const until = performance.now() + 2000; performance.now() < until; );
    debugPrintln("init: done");
  },
  notified() {},
});
`,
);

const revoked = onePd(
  "revoked",
  `import { createEndpoint, protectionDomain, Rights, send } from ${JSON.stringify(runtime)};
export default protectionDomain({
  init() {
    const { cap } = createEndpoint();
    const narrowed = cap.derive(Rights.SEND);
    cap.revoke();
    send(narrowed, new TextEncoder().encode("after the revoke"));
  },
});
`,
);

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves once `line` has appeared on stdout. */
  line(text: string): Promise<void>;
  /** Exit code and everything written, once the process has exited. */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(...args: string[]): Running {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env });
  let stdout = "";
  let stderr = "";
  const waiting: { text: string; resolve: () => void }[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const w of waiting) if (stdout.split("\n").includes(w.text)) w.resolve();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.once("close", (status, signal) => {
      clearTimeout(guard);
      resolve({ status, signal, stdout, stderr });
    });
  });
  return {
    child,
    exited,
    line: (text) =>
      new Promise<void>((resolve, reject) => {
        if (stdout.split("\n").includes(text)) resolve();
        else waiting.push({ text, resolve });
        void exited.then((r) => {
          reject(new Error(`exited (${r.status}) before '${text}'\n${r.stdout}\n${r.stderr}`));
        });
      }),
  };
}

describe("isokit --version", () => {
  test("--version and -V print the version of package.json, alone, on stdout", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = isokit(flag);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${manifest.version}\n`);
      assert.equal(r.stderr, "");
    }
  });
});

describe("usage errors", () => {
  for (const [args, message, hint] of [
    [["--frob"], "isokit: unknown option '--frob'", "Try 'isokit --help'."],
    [[], "isokit: missing command: 'check' or 'run'", "Try 'isokit --help'."],
    [["frob"], "isokit: unknown command 'frob'", "Try 'isokit --help'."],
    [["run"], "isokit: missing required argument 'file'", "Try 'isokit run --help'."],
    [["run", "examples/ipc/ipc.system", "--timeout", "soon"], "isokit: option '--timeout <ms>' argument 'soon' is invalid.", "Try 'isokit run --help'."],
    [["run", "examples/ipc/ipc.system", "--image", "client"], "isokit: --image: expected name=path, got 'client'", undefined],
    [["check", "no-such.system"], "isokit: cannot read no-such.system: ", undefined],
  ] as const) {
    test(`isokit ${args.join(" ")}: one line and a hint on stderr, exit 2`, () => {
      const r = isokit(...args);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.ok(lines[0]!.startsWith(message), r.stderr);
      if (hint === undefined) assert.equal(lines.length, 1, r.stderr);
      else assert.deepEqual(lines.slice(1), [hint]);
    });
  }
});

describe("which stream carries what", () => {
  test("PD output alone on stdout; progress, status and summary on stderr", () => {
    const r = isokit("run", "examples/ipc/ipc.system");
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.trimEnd().split("\n");
    assert.ok(out.length >= 6, r.stdout);
    for (const line of out) assert.match(line, /^(client|server): /);
    assert.ok(out.includes("client: reply label=0 count=1 MR0=42"), r.stdout);
    const err = r.stderr.split("\n");
    assert.ok(err.includes("✔ server: init() done"), r.stderr);
    assert.ok(err.includes("✔ client: init() done"), r.stderr);
    assert.ok(err.some((l) => /^booted 2 PDs in \d+ ms$/.test(l)), r.stderr);
    assert.ok(err.some((l) => /^stopped \(idle\) after \d+ ms: client stopped, server stopped$/.test(l)), r.stderr);
    assert.ok(!err.some((l) => /^(client|server): /.test(l)), r.stderr);
  });
});

describe("signals stop the system cleanly at any moment", () => {
  test("SIGINT during boot: boot finishes, shutdown runs, its output is flushed, exit 130", async () => {
    const run = start("run", slowInit, "--keep-running");
    await run.line("slow: init: waiting"); // init() has not returned: boot is still running
    run.child.kill("SIGINT");
    const r = await run.exited;
    assert.equal(r.status, 130, r.stderr);
    assert.ok(r.stdout.split("\n").includes("slow: init: done"), r.stdout);
    assert.match(r.stderr, /^stopped by SIGINT after \d+ ms: slow stopped$/m);
  });

  test("SIGINT after boot: exit 130 with the clean-stop line", async () => {
    const run = start("run", "examples/ipc/ipc.system", "--keep-running");
    await run.line("client: reply label=0 count=1 MR0=42");
    run.child.kill("SIGINT");
    const r = await run.exited;
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /^stopped by SIGINT after \d+ ms: client stopped, server stopped$/m);
  });

  test("SIGTERM after boot: exit 143 with the clean-stop line", async () => {
    const run = start("run", "examples/ipc/ipc.system", "--keep-running");
    await run.line("client: reply label=0 count=1 MR0=42");
    run.child.kill("SIGTERM");
    const r = await run.exited;
    assert.equal(r.status, 143, r.stderr);
    assert.match(r.stderr, /^stopped by SIGTERM after \d+ ms: client stopped, server stopped$/m);
  });

  test("SIGTERM during boot: exit 143 after the clean stop", async () => {
    const run = start("run", slowInit, "--keep-running");
    await run.line("slow: init: waiting");
    run.child.kill("SIGTERM");
    const r = await run.exited;
    assert.equal(r.status, 143, r.stderr);
    assert.match(r.stderr, /^stopped by SIGTERM after \d+ ms: slow stopped$/m);
  });
});

describe("exit codes and the error format", () => {
  test("a PD that dies unhandled: exit 1, the fault as one `isokit:` line", () => {
    const r = isokit("run", "tests/programs/fault.system");
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^isokit: fault in bad \(init\): init: PD 'bad' threw TypeError: init failed on purpose$/m);
  });

  test("an invalid system: exit 2, file:line:col: error:, for run as for check", () => {
    for (const command of ["run", "check"]) {
      const r = isokit(command, "tests/fixtures/sdf/invalid/ch_bidirectional_ppc.system");
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^tests\/fixtures\/sdf\/invalid\/ch_bidirectional_ppc\.system:14:5: error: cannot ppc bidirectionally/m);
    }
  });

  test("a revoked capability's error is one line, without the kernel's stack", () => {
    const r = isokit("run", revoked);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^isokit: fault in revoked \(init\): init: PD 'revoked' threw IpcError: send: capability 0x[0-9a-f]+ was revoked/m);
    assert.ok(!/^\s+at /m.test(r.stderr), r.stderr);
  });
});

describe("--timeout", () => {
  test("counts from the start of the command: a timeout shorter than boot stops the system right after boot", () => {
    // init() alone takes 2 s, so a 300 ms timeout counted from the start must fall during boot.
    const r = isokit("run", slowInit, "--keep-running", "--timeout", "300");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^stopped \(timeout of 300 ms, during boot\) after \d+ ms: slow stopped$/m);
  });

  test("--help says so", () => {
    const r = isokit("run", "--help");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--timeout <ms>\s+stop this many milliseconds after the\s+command\s+started\s+\(boot\s+included\)/);
  });
});

describe("a closed stdout", () => {
  test("`isokit check ... | head -1`: a reader that goes away stops the output quietly, exit 0, no EPIPE stack", () => {
    // The shell's pipe into a reader that exits at once: `head -0` reads nothing and closes its end.
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${bin}" check "${join(root, "examples/ipc/ipc.system")}" | head -c 0; exit "\${PIPESTATUS:-0}"`], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error'/, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
});
