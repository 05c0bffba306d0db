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

/**
 * One round: boots the pair, waits for the first generation's answer and the next one's, returns the ms between
 * the two (the caller makes the server fault right after each answer), and shuts the system down, so that no
 * restart runs during another case's rounds.
 */
async function oneCycle(): Promise<number> {
  const answers: number[] = [];
  let seen: (() => void) | undefined;
  const system: RunningSystem = await boot(
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
        if (e.pd === "caller" && e.text.startsWith("answered ")) {
          answers.push(performance.now());
          seen?.();
        }
      },
    },
  );
  try {
    while (answers.length < 2) await new Promise<void>((resolve) => (seen = resolve));
    return answers[1]! - answers[0]!;
  } finally {
    await system.shutdown();
  }
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
    run: oneCycle,
  },
];

export default cases;
