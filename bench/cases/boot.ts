// Boot at scale against its floor: N bare `new Worker`s started and each answering one message, against
// N PDs booted to every init() done. boot.10pd (ppcall.ts) and boot.63pd run the compiled package with
// JavaScript programs; the `.ts` twins run isokit from its sources with TypeScript programs, the path
// `isokit run` takes in this repository. RSS per PD and per bare worker is measured in a fresh child process
// per round: in this process, memory a previous round freed is reused by the next and the delta would lie.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { boot } from "../../src/index.ts";
import type { BenchCase } from "../harness.ts";

const programs = fileURLToPath(new URL("../programs/", import.meta.url));
const echo = new URL("../workers/echo.mjs", import.meta.url);
/** The compiled package (`npm run build`), as in ppcall.ts's boot.10pd. */
const dist = new URL("../../dist/index.js", import.meta.url).href;

/** ms until `n` bare workers have started and each has answered one message; all are terminated after. */
export async function bareWorkers(n: number): Promise<number> {
  const start = performance.now();
  // execArgv: [] as a PD gets (kernel/worker-system.ts): a bare worker must not start the bench's tsx hooks either.
  const workers = Array.from({ length: n }, () => new Worker(echo, { execArgv: [] }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.once("error", reject);
            worker.on("message", (m: { ready?: boolean }) => {
              // echo.mjs says ready once; the echo of our own message is the answer.
              if (m.ready === true) worker.postMessage("ping");
              else resolve();
            });
          }),
      ),
    );
    return performance.now() - start;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** ms until `n` PDs (a chain of channels, as in boot.10pd) have all run init(). */
async function bootPds(n: number, flavour: "js" | "ts"): Promise<number> {
  const run = flavour === "js" ? ((await import(dist)) as { boot: typeof boot }).boot : boot;
  const program = flavour === "js" ? `${programs}idle.mjs` : `${programs}idle.ts`;
  const names = Array.from({ length: n }, (_, i) => `pd${i}`);
  const start = performance.now();
  const system = await run({
    protectionDomains: names.map((name, i) => ({ name, priority: i % 255, program })),
    channels: names.slice(1).map((name, i) => ({ ends: [{ pd: names[i]!, id: 0 }, { pd: name, id: 1 }] as const })),
  });
  const elapsed = performance.now() - start;
  await system.shutdown();
  return elapsed;
}

// The child's scripts: import what the measured thing needs first (so loading the kernel's own modules is not
// counted), take RSS, start the 10, wait until they answer, take RSS again and print the MB per unit.
const rssOfPds = `
  const { boot } = await import(${JSON.stringify(new URL("../../src/index.ts", import.meta.url).href)});
  const names = Array.from({ length: 10 }, (_, i) => "pd" + i);
  const before = process.memoryUsage().rss;
  const system = await boot({
    protectionDomains: names.map((name, i) => ({ name, priority: i, program: ${JSON.stringify(`${programs}idle.ts`)} })),
    channels: names.slice(1).map((name, i) => ({ ends: [{ pd: names[i], id: 0 }, { pd: name, id: 1 }] })),
  });
  await new Promise((r) => setTimeout(r, 200));
  const after = process.memoryUsage().rss;
  await system.shutdown();
  console.log((after - before) / 10 / 2 ** 20);
`;
const rssOfWorkers = `
  const { Worker } = await import("node:worker_threads");
  const before = process.memoryUsage().rss;
  const workers = Array.from({ length: 10 }, () => new Worker(new URL(${JSON.stringify(echo.href)})));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.on("message", (m) => (m.ready ? w.postMessage(1) : resolve())))));
  await new Promise((r) => setTimeout(r, 200));
  const after = process.memoryUsage().rss;
  await Promise.all(workers.map((w) => w.terminate()));
  console.log((after - before) / 10 / 2 ** 20);
`;

/** MB of RSS per unit, from a child running `script` (with the tsx loader when it runs isokit's sources). */
function rssInChild(script: string, tsx: boolean): Promise<number> {
  // A file, not `-e`: workers inherit the process's execArgv, and `--input-type` makes them refuse to start.
  const file = join(mkdtempSync(join(tmpdir(), "isokit-bench-")), "rss.mjs");
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [...(tsx ? ["--import", "tsx"] : []), file], { encoding: "utf8", timeout: 60_000 });
  rmSync(dirname(file), { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`rss child exited ${r.status}: ${r.stderr}`);
  const value = Number(r.stdout.trim().split("\n").at(-1));
  if (!Number.isFinite(value)) throw new Error(`rss child printed '${r.stdout}'`);
  return Promise.resolve(value);
}

export const bootCases: readonly BenchCase[] = [
  {
    id: "floor.boot.10workers",
    unit: "ms",
    lowerIsBetter: true,
    note: "10 bare new Worker started and each answering a message",
    run: () => bareWorkers(10),
  },
  {
    id: "floor.boot.63workers",
    unit: "ms",
    lowerIsBetter: true,
    note: "63 bare new Worker started and each answering a message",
    run: () => bareWorkers(63),
  },
  {
    id: "boot.10pd.ts",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["floor.boot.10workers"],
    note: "isokit from source, TypeScript programs",
    run: () => bootPds(10, "ts"),
  },
  {
    id: "boot.63pd",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["floor.boot.63workers"],
    note: "compiled package, JavaScript programs",
    run: () => bootPds(63, "js"),
  },
  {
    id: "boot.63pd.ts",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["floor.boot.63workers"],
    note: "isokit from source, TypeScript programs",
    run: () => bootPds(63, "ts"),
  },
  {
    // Not a time: MB, which the harness's units do not name; "ms" keeps the table's ratio column working.
    id: "floor.worker.rss",
    unit: "ms",
    lowerIsBetter: true,
    note: "MB of RSS per bare worker (10 in a fresh process)",
    run: () => rssInChild(rssOfWorkers, false),
  },
  {
    id: "pd.rss",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["floor.worker.rss"],
    note: "MB of RSS per PD (10 TypeScript PDs booted in a fresh process)",
    run: () => rssInChild(rssOfPds, true),
  },
];

export default bootCases;
