// The honest client of the flood tests: once the attack is in full swing (READY), makes CALLS calls to the
// server and SYSCALLS syscalls (processId), checks every answer, then says STOP. Prints one line of exact
// counts (asserted) and one of latencies (shown, never asserted).
import { call, debugPrintln, isIpcError, lookupCapability, processId, protectionDomain, send } from "../../../src/index.ts";
import { answer, CALLS, ctl, CTL, DONE_LABEL, nearestRank, request, SYSCALLS } from "./flood-common.ts";

/** The error's code; the first one also says why, for whoever reads a failing test. */
let explained = false;
function codeOf(error: unknown): string {
  if (!isIpcError(error)) return `not an IpcError: ${String(error)}`;
  if (explained) return error.code;
  explained = true;
  return `${error.code} (${error.message.split("\n")[0]!.slice(0, 300)})`;
}

export default protectionDomain({
  init() {
    const c = ctl();
    const errors: string[] = [];
    let calls = 0;
    let syscalls = 0;
    const callMs = new Float64Array(CALLS);
    const syscallMs = new Float64Array(SYSCALLS);
    let ready = false;
    try {
      const ep = lookupCapability("ep", { timeout: 30_000 });
      const readyBy = performance.now() + 30_000; // a hang guard: an attack that never starts is reported
      while (Atomics.load(c, CTL.READY) === 0 && performance.now() < readyBy) Atomics.wait(c, CTL.READY, 0, 50);
      ready = Atomics.load(c, CTL.READY) === 1;
      const message = new Uint8Array(64);
      for (let i = 0; i < CALLS && errors.length < 5; i++) {
        try {
          request(i, message);
          const expected = answer(message);
          const started = performance.now();
          const got = call(ep, message, { timeout: 30_000 });
          callMs[i] = performance.now() - started;
          if (got.data.length === 64 && got.data.every((b, k) => b === expected[k])) calls++;
          else errors.push(`call ${i}: wrong reply`);
        } catch (error) {
          errors.push(`call ${i}: ${codeOf(error)}`);
        }
      }
      const server = processId("server");
      for (let i = 0; i < SYSCALLS && errors.length < 5; i++) {
        try {
          const started = performance.now();
          const pid = processId("server");
          syscallMs[i] = performance.now() - started;
          if (pid === server) syscalls++;
          else errors.push(`syscall ${i}: pid ${pid}, not ${server}`);
        } catch (error) {
          errors.push(`syscall ${i}: ${codeOf(error)}`);
        }
      }
      send(ep, new Uint8Array(1), { label: DONE_LABEL, timeout: 30_000 });
    } catch (error) {
      errors.push(codeOf(error));
    } finally {
      Atomics.store(c, CTL.STOP, 1); // the attack ends with our work, whatever happened
    }
    debugPrintln(JSON.stringify({ ready, calls, syscalls, errors }));
    callMs.sort();
    syscallMs.sort();
    const us = (v: number): number => Math.round(v * 1000);
    debugPrintln(
      `latency call median=${us(nearestRank(callMs, 50))}µs p99=${us(nearestRank(callMs, 99))}µs; ` +
        `syscall median=${us(nearestRank(syscallMs, 50))}µs p99=${us(nearestRank(syscallMs, 99))}µs max=${us(nearestRank(syscallMs, 100))}µs`,
    );
  },
});
