// Findings 15 and 16, and what kernel errors carry: raw syscall floods, huge strings, and the text of errors
// a PD gets from the kernel. ctl words: 0 = the flooder posted its flood, 1 = the huge-string PD started,
// 5 = the test says the flood is in (posted, or the flooder already faulted), 63 = the word honest waits for,
// 2 = it is done.
import { type MessagePort, workerData } from "node:worker_threads";
import { capabilityFromToken, createEndpoint, debugPrintln, grantCap, isIpcError, pdName, processId, protectionDomain, Rights } from "../../../src/index.ts";
import { layout } from "../../../src/internal.ts";
import { codeOf, count, ctl, rawClient, setWord, sleepMs, tally, waitWord } from "./ep-common.ts";

export const FLOOD = 100_000;
export const HONEST_SYSCALLS = 200;
export const HUGE = 100_000_000;

/** Posts FLOOD syscall requests on its kernel port without waiting for any answer, then rings once. */
function flooder(): void {
  const c = ctl();
  const boot = workerData as { kernelPort: MessagePort; control: SharedArrayBuffer; kernelBell?: SharedArrayBuffer };
  for (let i = 0; i < FLOOD; i++) boot.kernelPort.postMessage({ op: "pid", name: "x", seq: 1_000_000 + i });
  // A kernel that reads a port only once the PD says so (SYSCALL_REQ, then the bell) is told, once.
  const req = (layout.CONTROL_I32 as Record<string, number | undefined>)["SYSCALL_REQ"];
  if (req !== undefined && boot.kernelBell !== undefined) {
    Atomics.store(new Int32Array(boot.control), req, 1_000_000);
    const bell = new Int32Array(boot.kernelBell);
    Atomics.add(bell, 0, 1);
    Atomics.notify(bell, 0);
  }
  setWord(c, 0);
  sleepMs(3000);
  debugPrintln("flooder still running");
}

/** Ten syscalls with a 100 MB string: five `pid` lookups of that name, five grants under it. */
function huge(): void {
  const c = ctl();
  const name = "x".repeat(HUGE);
  const own = createEndpoint();
  setWord(c, 1);
  const codes = new Map<string, number>();
  let longest = 0;
  for (let i = 0; i < 10; i++) {
    try {
      if ((i & 1) === 0) processId(name);
      else grantCap(own.cap, "honest", Rights.SEND, { name });
      count(codes, "ok");
    } catch (error) {
      count(codes, codeOf(error));
      if (isIpcError(error)) longest = Math.max(longest, error.message.length);
    }
  }
  debugPrintln(`huge strings: ${tally(codes)}, longest message < 500 characters: ${longest < 500}`);
  setWord(c, 2);
}

/** Syscalls the kernel refuses: their errors must carry no kernel stack or host path. */
function prober(): void {
  const raw = rawClient().link;
  const own = createEndpoint();
  const closed = own.cap.derive(Rights.SEND);
  closed.close();
  const probes: [string, () => unknown][] = [
    ["revoke of a token never issued", () => raw.syscall({ op: "revoke", token: 0x42n })],
    ["pid of nobody", () => processId("nobody")],
    ["a token never issued", () => capabilityFromToken(0x0001_0007_0000_0009n)],
    ["a closed token", () => capabilityFromToken(closed.token)],
    ["derive wider, raw", () => raw.syscall({ op: "derive", token: own.cap.derive(Rights.SEND).token, rights: Rights.SEND | Rights.RECEIVE })],
    ["an unknown op", () => raw.syscall({ op: "grant-me-everything" })],
    ["grant to a PD not reached", () => grantCap(own.cap, "flooder-none", Rights.SEND, { name: "n" })],
  ];
  const leaks: string[] = [];
  let refused = 0;
  for (const [what, probe] of probes) {
    try {
      probe();
      leaks.push(`${what}: not refused`);
    } catch (error) {
      if (!isIpcError(error)) {
        leaks.push(`${what}: untyped ${String(error)}`.slice(0, 200));
        continue;
      }
      refused++;
      const text = `${error.message}\n${error.stack ?? ""}`;
      const hit = ["src/kernel", "src/caps", "ipc-kernel"].find((p) => text.includes(p));
      if (hit !== undefined) leaks.push(`${what}: '${hit}' in ${JSON.stringify(text.slice(Math.max(0, text.indexOf(hit) - 80), text.indexOf(hit) + 40))}`);
    }
  }
  debugPrintln(`refused ${refused} of ${probes.length}`);
  for (const leak of leaks) debugPrintln(`leak: ${leak}`);
}

/** Waits for word `word`, then makes HONEST_SYSCALLS syscalls (its own pid). */
function honest(word: number): void {
  const c = ctl();
  if (!waitWord(c, word, 30_000)) debugPrintln(`word ${word} never set`);
  const codes = new Map<string, number>();
  for (let i = 0; i < HONEST_SYSCALLS; i++) {
    try {
      processId(pdName());
      count(codes, "ok");
    } catch (error) {
      count(codes, codeOf(error));
    }
  }
  debugPrintln(`syscalls: ${tally(codes)}`);
}

export default protectionDomain({
  init() {
    switch (pdName()) {
      case "flooder":
        flooder();
        break;
      case "huge":
        huge();
        break;
      case "prober":
        prober();
        break;
      case "honest":
        honest(Atomics.load(ctl(), 63)); // the test says which word to wait for
        break;
      default:
    }
  },
});
