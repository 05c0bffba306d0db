// Tracing's cost (issue #14): the hot ppcall and the endpoint call of ppcall.ts and endpoint.ts, booted with
// `trace: true`, so every call writes its records into both PDs' trace rings and the kernel drains them; and
// the hot ppcall watched by the dashboard open in Chromium (what `isokit run --dashboard` does: sampled tracing).
// Tracing off is the same build (ppcall.hot, endpoint.call): one branch on a field per operation.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { boot, type SystemDescription } from "../../src/index.ts";
import { DASHBOARD_TRACE, startDashboard, type Dashboard } from "../../src/dashboard/server.ts";
import { BENCH_LIMITS, type AnyCase } from "../harness.ts";
import { bootRound } from "./boot-round.ts";

const programs = fileURLToPath(new URL("../programs/", import.meta.url));
/** Debian's chromium, as tests/dashboard uses it (no downloaded browser builds). */
const CHROMIUM = "/usr/bin/chromium";

export const ppcallPair: SystemDescription = {
  protectionDomains: [
    { name: "hot", priority: 100, program: `${programs}ppcall-client.ts` },
    { name: "server", priority: 200, program: `${programs}ppcall-server.ts` },
  ],
  channels: [{ ends: [{ pd: "hot", id: 0, pp: true }, { pd: "server", id: 1 }] }],
};

export const endpointPair: SystemDescription = {
  protectionDomains: ["server", "client"].map((name, i) => ({ name, priority: 200 - i, program: `${programs}endpoint-bench.ts` })),
  channels: [{ ends: [{ pd: "server", id: 1 }, { pd: "client", id: 0 }] }],
};

/**
 * Boots `description` (traced unless `trace` is false); `client` prints the round's µs per operation as
 * `{ rounds: [x] }`. The client's measured loop runs in one entry point: the watchdog's budget is raised.
 */
export function tracedRound(description: SystemDescription, client: string, iterations: number, trace = true): Promise<number> {
  process.env["ISOKIT_BENCH_ROUNDS"] = "1";
  process.env["ISOKIT_BENCH_ITERATIONS"] = String(iterations);
  process.env["ISOKIT_BENCH_FLOODED"] = "0";
  // Trusted, as ppcall.hot and endpoint.call are (the figures these are compared with).
  return bootRound(description, client, { trace, trusted: description.protectionDomains.map((pd) => pd.name) });
}

/** The ppcall pair whose client waits for the host's go (byte 0 of region "bench-go") before its loop. */
const gatedPair: SystemDescription = {
  protectionDomains: [
    { name: "hot", priority: 100, program: `${programs}ppcall-client-gated.ts`, maps: [{ mr: "bench-go", vaddr: 0x800_0000, perms: "r", setvarVaddr: "bench-go" }] },
    { name: "server", priority: 200, program: `${programs}ppcall-server.ts` },
  ],
  channels: [{ ends: [{ pd: "hot", id: 0, pp: true }, { pd: "server", id: 1 }] }],
  memoryRegions: [{ name: "bench-go", size: 4096 }],
};

/** The dashboard case's clock: a warm-up long enough for the dashboard's cadence to see the machine busy, then rounds of 2 s. */
const WATCH_WARM_MS = 1500;
const WATCH_ROUND_MS = 2000;

type Watch = "unwatched" | "dashboard" | "full";

/**
 * ppcall.hot.dashboard: boots the pair as `isokit run --dashboard` does (sampled tracing), serves the dashboard,
 * opens it in a Chromium of its own (`openInChromium`: no DevTools connection) and waits until the page watches
 * and has had time to draw (it has loaded, laid out and first drawn its graphs), then lets the client run: a warm-up
 * of 1.5 s (the dashboard sees a busy machine after a second, src/dashboard/cadence.ts, as it would while anyone
 * watched one), then a round of at least 2 s, so that it spans the page's updates at one a second or four.
 * `full` keeps the dashboard at four updates a second on a busy machine (`busyTicksPerSec: 4`): what watching
 * costs when it does not step back. `unwatched` is their baseline: the same pair on the same clock, untraced,
 * with no dashboard and no browser (ppcall.hot's rounds are shorter and start cold, so they are not).
 */
function watchedCase(watch: Watch): AnyCase {
  const id = { unwatched: "ppcall.hot.unwatched", dashboard: "ppcall.hot.dashboard", full: "ppcall.hot.dashboard.full" }[watch];
  if (watch !== "unwatched" && !existsSync(CHROMIUM)) return { id, skipped: `${CHROMIUM} is not installed (apt-get install chromium): the dashboard case needs a real browser` };
  const round = async (): Promise<number> => {
    process.env["ISOKIT_BENCH_ROUNDS"] = "1";
    process.env["ISOKIT_BENCH_ITERATIONS"] = "100000";
    process.env["ISOKIT_BENCH_WARM_MS"] = String(WATCH_WARM_MS);
    process.env["ISOKIT_BENCH_ROUND_MS"] = String(WATCH_ROUND_MS);
    const go = new SharedArrayBuffer(4096);
    let line = "";
    const system = await boot(gatedPair, {
      trusted: ["hot", "server"],
      trace: watch === "unwatched" ? false : DASHBOARD_TRACE,
      limits: BENCH_LIMITS,
      regions: { "bench-go": go },
      initTimeoutMs: 1, // boot returns while the client's init() waits for the go
      onOutput: (e) => {
        if (e.pd === "hot") line = e.text;
      },
    });
    const closers: Array<() => Promise<void>> = [() => system.shutdown()];
    try {
      if (watch !== "unwatched") {
        const dashboard = await startDashboard(system, { port: 0, ...(watch === "full" ? { busyTicksPerSec: 4 } : {}) });
        closers.unshift(() => dashboard.close());
        // A browser per round: one left open across the run idles at several percent of a core, in every other case's rounds.
        closers.unshift(await openInChromium(dashboard));
      }
      new Uint8Array(go)[0] = 1;
      await system.whenIdle();
      if (system.faults.length > 0) throw new Error(`hot: ${system.faults[0]!.error.message}`);
      const rounds = (JSON.parse(line || "{}") as { rounds?: number[] }).rounds ?? [];
      if (rounds.length === 0) throw new Error("hot: no result");
      return rounds[0]!;
    } finally {
      for (const close of closers) await close();
      delete process.env["ISOKIT_BENCH_WARM_MS"];
      delete process.env["ISOKIT_BENCH_ROUND_MS"];
    }
  };
  const baseline = { unwatched: ["ppcall.hot"], dashboard: ["ppcall.hot.unwatched", "ppcall.hot"], full: ["ppcall.hot.unwatched", "ppcall.hot.dashboard"] }[watch];
  const note = {
    unwatched: "the dashboard cases' pair and clock (1.5 s warm-up, 2 s rounds), untraced, nothing watching",
    dashboard: "the dashboard serving a page open in Chromium, no DevTools attached (sampled tracing, as --dashboard; one update a second while no core is idle)",
    full: "as ppcall.hot.dashboard, the page kept at four updates a second on the busy machine",
  }[watch];
  return { id, unit: "µs/op", lowerIsBetter: true, baseline, note, run: () => round() };
}

/** How long a page that connected is given to finish drawing before the round (its graphs' loops park within 2 s of a change). */
const SETTLE_MS = 2500;
/** Guards the wait for Chromium to load the page, against a hang only. */
const LOAD_GUARD_MS = 30_000;
/** How long Chromium is given to end itself before it is killed. */
const CLOSE_GUARD_MS = 10_000;

/** Profiles a browser's processes were still writing into when it had ended: removed when the bench exits. */
const leftProfiles: string[] = [];

/**
 * Removes a Chromium profile, or leaves it for the bench's exit: the browser's network service may still write
 * its state into it for a while after the browser process ended (ENOTEMPTY), which is no reason to fail a round.
 */
function removeProfile(profile: string): void {
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    if (leftProfiles.push(profile) === 1) {
      process.once("exit", () => {
        for (const left of leftProfiles) {
          try {
            rmSync(left, { recursive: true, force: true });
          } catch {
            process.stderr.write(`bench: could not remove ${left}\n`);
          }
        }
      });
    }
  }
}

/**
 * Opens `dashboard` in Chromium as a user would: a browser of its own with the page in its window, and no DevTools
 * connection. Driven by playwright (as tests/dashboard is), the driver ran in this process, on the kernel's thread,
 * and Chromium served it besides the page: 22-44 ms of the kernel thread's CPU a second against 22-36 without it,
 * and Chromium's 36-83 against 39-59 (docs/performance.md, stop 28). Returns once the server counts the page as
 * watching and the page has had SETTLE_MS to draw; the closer ends the browser and removes its profile (or leaves
 * it for the bench's exit, `removeProfile`).
 */
async function openInChromium(dashboard: Dashboard): Promise<() => Promise<void>> {
  const profile = mkdtempSync(join(tmpdir(), "isokit-bench-chromium-"));
  const browser = spawn(CHROMIUM, [
    "--headless",
    ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
    `--user-data-dir=${profile}`,
    "--window-size=1400,1000",
    // What playwright's launch also turns off: a headless window is never in front, and nothing else may run.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--disable-sync",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    dashboard.url,
  ], { stdio: "ignore" }); // in this process's group: a Ctrl-C in the terminal ends it too
  const ended: { why?: string } = {};
  const exited = new Promise<void>((resolve) => {
    browser.once("exit", (code, signal) => {
      ended.why ??= `exited (${signal ?? `code ${code}`})`;
      resolve();
    });
    browser.once("error", (error) => {
      ended.why = `could not be started: ${error.message}`;
      resolve();
    });
  });
  const close = async (): Promise<void> => {
    // SIGTERM: Chromium ends its renderer and services and then itself.
    if (ended.why === undefined) browser.kill("SIGTERM");
    const killer = setTimeout(() => browser.kill("SIGKILL"), CLOSE_GUARD_MS);
    await exited;
    clearTimeout(killer);
    removeProfile(profile);
  };
  try {
    for (const started = performance.now(); dashboard.pages === 0; ) {
      if (ended.why !== undefined) throw new Error(`${CHROMIUM} ${ended.why} before the dashboard's page connected`);
      if (performance.now() - started > LOAD_GUARD_MS) throw new Error(`${CHROMIUM} did not open the dashboard's page in ${LOAD_GUARD_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  } catch (error) {
    await close();
    throw error;
  }
  return close;
}

const cases: AnyCase[] = [
  {
    id: "ppcall.hot.traced",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["ppcall.hot", "floor.spin"],
    note: "trace on: one record at each end per call",
    run: () => tracedRound(ppcallPair, "hot", 200_000),
  },
  {
    id: "endpoint.call.traced",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["endpoint.call", "floor.spin"],
    note: "trace on: the caller's record, the receiver's reply with its receive in it (a receive and a reply if its spin did not catch the call)",
    run: () => tracedRound(endpointPair, "client", 200_000),
  },
  watchedCase("unwatched"),
  watchedCase("dashboard"),
  watchedCase("full"),
];

export default cases;
