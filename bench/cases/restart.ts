// restart.pd: from a PD's fault to its next generation answering a call again (docs/supervision.md), under
// the one_for_one policy; beside it floor.boot.10workers.each, a tenth of 10 bare workers started and each
// answering a message, the share of one worker in the boot floor. A restart is a worker start plus the
// kernel's clean-up and the program's load and init(): that floor is what it cannot go under.
import { fileURLToPath } from "node:url";
import { boot, type RunningSystem } from "../../src/index.ts";
import type { BenchCase } from "../harness.ts";
import { bareWorkers } from "./boot.ts";

const caller = fileURLToPath(new URL("../programs/restart-caller.ts", import.meta.url));
const server = fileURLToPath(new URL("../../tests/programs/supervision/member.ts", import.meta.url));

let system: RunningSystem | undefined;
/** Each completed cycle's duration (ms between two "answered" lines), not yet taken by a round. */
const cycles: number[] = [];
let waiting: ((ms: number) => void) | undefined;
let last = 0;

function answeredNow(): void {
  const now = performance.now();
  if (last !== 0) {
    const ms = now - last;
    if (waiting !== undefined) {
      waiting(ms);
      waiting = undefined;
    } else {
      cycles.push(ms);
    }
  }
  last = now;
}

/** The next cycle's duration; a round takes each cycle once, whenever it completed. */
function nextCycle(): Promise<number> {
  const ready = cycles.shift();
  if (ready !== undefined) return Promise.resolve(ready);
  return new Promise((resolve) => (waiting = resolve));
}

const cases: readonly BenchCase[] = [
  {
    id: "floor.boot.10workers.each",
    unit: "ms",
    lowerIsBetter: true,
    note: "floor.boot.10workers / 10: one bare worker's share of starting ten",
    run: async () => (await bareWorkers(10)) / 10,
  },
  {
    id: "restart.pd",
    unit: "ms",
    lowerIsBetter: true,
    baseline: ["floor.boot.10workers.each"],
    note: "fault in protected() to the restarted PD answering again (one_for_one, TypeScript programs)",
    async setup() {
      cycles.length = 0;
      last = 0;
      system = await boot(
        {
          memoryRegions: [{ name: "gen", size: 0x1000 }],
          protectionDomains: [
            { name: "caller", priority: 10, program: caller },
            { name: "server", priority: 100, program: server, maps: [{ mr: "gen", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "gen" }] },
          ],
          channels: [{ ends: [{ pd: "caller", id: 1, pp: true }, { pd: "server", id: 1 }] }],
        },
        {
          restart: { strategy: "one_for_one", intensity: 1_000_000, periodMs: 1 },
          onOutput: (e) => {
            if (e.pd === "caller" && e.text.startsWith("answered ")) answeredNow();
          },
        },
      );
    },
    run: () => nextCycle(),
    async teardown() {
      await system?.shutdown();
      system = undefined;
    },
  },
];

export default cases;
