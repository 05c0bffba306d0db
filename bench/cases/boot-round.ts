// The shape most of isokit's own cases share: boot a system whose reporting PD times its own loop and prints
// `{ "rounds": [...] }` (µs per operation) as one output line, wait until the system is idle, read the line.
import { boot, type BootOptions, type SystemDescription } from "../../src/index.ts";
import { BENCH_LIMITS } from "../harness.ts";

/** Boots `description`, waits until it is idle, returns the rounds the PD `reporter` printed last. */
export async function bootRounds(description: SystemDescription, reporter: string, options: BootOptions = {}): Promise<number[]> {
  let line = "";
  const system = await boot(description, {
    initTimeoutMs: 60_000,
    limits: BENCH_LIMITS,
    ...options,
    onOutput: (e) => {
      if (e.pd === reporter) line = e.text;
    },
  });
  try {
    await system.whenIdle();
    if (system.faults.length > 0) throw new Error(`${reporter}: ${system.faults[0]!.error.message}`);
    const rounds = (JSON.parse(line || "{}") as { rounds?: number[] }).rounds ?? [];
    if (rounds.length === 0) throw new Error(`${reporter}: no result`);
    return rounds;
  } finally {
    await system.shutdown();
  }
}

/** The first round `reporter` printed (the cases whose PD measures one round per boot). */
export async function bootRound(description: SystemDescription, reporter: string, options: BootOptions = {}): Promise<number> {
  return (await bootRounds(description, reporter, options))[0]!;
}
