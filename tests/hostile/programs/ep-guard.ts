// Finding 6: a receiver holds its own guard to freeze the kernel. The hostile receiver reaches its runtime's
// private endpoint state, and before each of 20 slots of its endpoint is retired (closed or revoked) writes
// word 0 of the guard (where the old protocol's BUSY word was, which the kernel waited on) = the slot's index
// + 1 and every STATUS word to TAKING (2). Meanwhile an honest PD makes syscalls: every one must be answered.
import { createEndpoint, debugPrintln, pdName, processId, protectionDomain, Rights } from "../../../src/index.ts";
import { layout } from "../../../src/internal.ts";
import { codeOf, count, rawClient, sleepMs, tally } from "./ep-common.ts";

export const ROUNDS = 20;
export const HONEST_SYSCALLS = 100;

function receiver(): void {
  const { id, cap } = createEndpoint();
  const raw = rawClient();
  const guard = raw.endpoints.get(id)!.guard;
  const status = layout.LINE / 4; // GUARD.STATUS: one i32 per slot from byte LINE
  const codes = new Map<string, number>();
  for (let k = 0; k < ROUNDS; k++) {
    try {
      const sender = cap.derive((k & 1) === 0 ? Rights.SEND : Rights.SEND | Rights.REVOKE);
      const { index } = raw.link.syscall({ op: "connect", token: sender.token }) as { index: number };
      Atomics.store(guard, 0, index + 1);
      for (let i = status; i < guard.length; i++) Atomics.store(guard, i, 2);
      if ((k & 1) === 0) sender.close();
      else sender.revoke();
      count(codes, "retired");
    } catch (error) {
      count(codes, codeOf(error));
    }
  }
  debugPrintln(`rounds: ${tally(codes)}`);
}

function honest(): void {
  const codes = new Map<string, number>();
  let longest = 0;
  for (let i = 0; i < HONEST_SYSCALLS; i++) {
    const t0 = performance.now();
    try {
      processId("receiver");
      count(codes, "ok");
    } catch (error) {
      count(codes, codeOf(error));
    }
    longest = Math.max(longest, performance.now() - t0);
    sleepMs(10);
  }
  debugPrintln(`syscalls: ${tally(codes)}`);
  debugPrintln(`longest syscall ${longest.toFixed(1)} ms`);
}

export default protectionDomain({
  init() {
    if (pdName() === "receiver") receiver();
    else honest();
  },
});
