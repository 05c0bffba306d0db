// The isokit command end to end: a real child process running bin/isokit.js, output piped (so plain).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function isokit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, "bin/isokit.js"), ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("isokit run", () => {
  test("boots the tutorial's ipc.system and shows the exchange", () => {
    const r = isokit("run", "examples/ipc/ipc.system");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.ok(lines.includes("client: init, notifying the server"), r.stdout);
    assert.ok(lines.includes("server: protected call on Channel(37) with MessageInfo(label=1, count=2)"), r.stdout);
    assert.ok(lines.includes("client: reply label=0 count=1 MR0=42"), r.stdout);
    assert.match(r.stderr, /stopped \(idle\) after \d+ ms: client stopped, server stopped/);
  });

  test("--keep-running stops on --timeout, cleanly", () => {
    const r = isokit("run", "examples/ipc/ipc.system", "--keep-running", "--timeout", "400");
    assert.equal(r.status, 0, r.stderr);
    // Counted from the start of the command, the timeout may fall during boot: the stop then follows boot.
    assert.match(r.stderr, /stopped \(timeout of 400 ms(, during boot)?\) after \d+ ms: client stopped, server stopped/);
  });

  test("Ctrl-C (SIGINT) shuts the system down cleanly", async () => {
    const child = spawn(process.execPath, [join(root, "bin/isokit.js"), "run", "examples/ipc/ipc.system", "--keep-running"], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const booted = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: string) => {
        stdout += chunk;
        if (stdout.includes("MR0=42")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await booted;
    child.kill("SIGINT");
    const status = await exited;
    clearTimeout(guard);
    assert.equal(status, 130, stderr);
    assert.match(stderr, /stopped by SIGINT after \d+ ms: client stopped, server stopped/);
  });

  test("--image overrides a PD's program", () => {
    const r = isokit("run", "examples/ipc/ipc.system", "--image", "client=tests/programs/init-throws.ts");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /fault in client \(init\): init: PD 'client' threw TypeError: init failed on purpose/);
  });

  test("a PD that dies unhandled makes the command exit 1", () => {
    const r = isokit("run", "tests/programs/fault.system");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /fault in bad \(init\)/);
    assert.match(r.stderr, /bad faulted/);
  });

  test("a program that cannot be found lists what was tried", () => {
    const r = isokit("run", "tests/programs/missing.system");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /tests\/programs\/missing\.system:3:5: error: no program for PD 'ghost' \(program_image 'no-such-program\.elf'\); tried:/);
    for (const ext of [".ts", ".mts", ".js", ".mjs"]) assert.ok(r.stderr.includes(`no-such-program${ext}`), r.stderr);
  });
});

describe("examples on endpoints", () => {
  test("client-server: seed 002's server answers the client's calls through a granted capability", () => {
    const r = isokit("run", "examples/client-server/client-server.system");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    for (const line of [
      "server: endpoint 1 ready; granted SEND to client",
      "client: 'hello' -> '5 characters'",
      "client: 'capability-secure IPC' -> '21 characters'",
      "server: request 'quit' from client",
      "server: done",
    ]) {
      assert.ok(lines.includes(line), `${line}\n${r.stdout}`);
    }
  });

  test("plugin-host: the plugin's capability is narrowed, rate-limited, and then revoked", () => {
    const r = isokit("run", "examples/plugin-host/plugin-host.system");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.ok(lines.includes("plugin: receive on the log endpoint: PermissionDenied"), r.stdout);
    assert.ok(lines.includes("plugin: derive a capability with GRANT: PermissionDenied"), r.stdout);
    assert.ok(lines.includes("host: revoked 2 capabilities; the plugin can no longer log"), r.stdout);
    const end = lines.find((l) => l.startsWith("plugin: after 30 lines"));
    assert.match(end ?? "", /^plugin: after 30 lines \((\d+) refused by the rate limit\): InvalidCapability$/, r.stdout);
    assert.ok(Number(/\((\d+) refused/.exec(end!)![1]) > 0, "the burst of 20 is used up before 30 lines");
  });
});

describe("examples of seed 002 and seed 004", () => {
  test("l4-servers: the memory and scheduler servers answer packed requests; unknown labels get typed errors", () => {
    const r = isokit("run", "examples/l4-servers/l4-servers.system");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    for (const line of [
      "client: a=0x20000000 b=0x20000070: 'written in place'",
      "client: after freeing a, a 64-byte block reuses it: true",
      "client: free of an address never allocated: InvalidMessage: memory: the server's handler failed",
      "client: next to run: 2, 3, 2, 3",
      "client: a label the memory server does not serve: InvalidMessage: unknown: the server has no service with label 0x9999",
    ]) {
      assert.ok(lines.includes(line), `${line}\n${r.stdout}`);
    }
  });

  test("shm-database: records read in place through a read capability; writing is refused", () => {
    const r = isokit("run", "examples/shm-database/shm-database.system");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.ok(lines.includes("client: record 1023: key 2023, 'record number 1023' (read in place)"), r.stdout);
    assert.ok(lines.includes("client: writing through the read capability: PermissionDenied"), r.stdout);
  });
});

describe("examples run from TypeScript", () => {
  test("pipeline: 100,000 messages through three PDs on async channels arrive in order, transformed", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "examples/pipeline/run.ts", "100000"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^host: sink reports 100000 received, 0 out of order or wrong; 100000 messages through 3 PDs in /m, r.stdout);
  });
});

describe("isokit check", () => {
  test("prints a summary of a valid system", () => {
    const r = isokit("check", "examples/ipc/ipc.system");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /client {2}priority 100/);
    assert.match(r.stdout, /server {2}priority 200/);
    assert.match(r.stdout, /client:13 \(pp\) --> server:37/);
    assert.match(r.stdout, /examples\/ipc\/ipc\.system: ok/);
  });

  test("reports located errors and exits 2", () => {
    const r = isokit("check", "tests/programs/missing.system", "tests/fixtures/sdf/invalid/ch_bidirectional_ppc.system");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ch_bidirectional_ppc\.system:14:5: error: cannot ppc bidirectionally/);
  });

  test("--help explains both commands", () => {
    const r = isokit("--help");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /check \[options\] <file\.\.\.>/);
    assert.match(r.stdout, /run \[options\] <file>/);
    assert.match(r.stdout, /--image|program_image/);
  });
});
