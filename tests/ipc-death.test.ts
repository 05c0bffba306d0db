// A receiver killed mid-call, 1000 times: the kernel's clean-up (src/kernel/ipc-kernel.ts, as the worker
// system runs it when a PD dies) against real callers blocked in `call` on real worker threads. Every caller
// must wake with PeerDied every time; none may hang. (tests/endpoints.test.ts kills whole PDs, 10 times.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { IpcKernel, type IpcPd } from "../src/kernel/ipc-kernel.ts";
import { CONTROL_BYTES, DOORBELL_BYTES, KERNEL_BELL_BYTES } from "../src/protocol/layout.ts";
import { SLOT_I32, SlotState } from "../src/protocol/endpoint.ts";
import type { KernelToPd } from "../src/protocol/syscall.ts";
import { Rights } from "../src/index.ts";

const shim = new URL("./programs/ts-worker.mjs", import.meta.url);
const callerModule = new URL("./programs/ipc-caller.ts", import.meta.url).href;
const CALLERS = 3;
const ROUNDS = 1000;

describe("a receiver killed mid-call", () => {
  it(`${ROUNDS} times: every blocked caller wakes with PeerDied, none hangs`, { timeout: 240_000 }, async () => {
    const kernel = new IpcKernel();
    const kernelBell = new SharedArrayBuffer(KERNEL_BELL_BYTES);
    kernel.attachBell(kernelBell);
    const workers: Worker[] = [];
    const ports: MessagePort[] = [];
    const outcomes: { round: number; outcome: string }[][] = Array.from({ length: CALLERS }, () => []);
    const waiters: (() => void)[] = [];
    const wake = (): void => { waiters.splice(0).forEach((w) => { w(); }); };
    const until = async (ready: () => boolean): Promise<void> => {
      while (!ready()) await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 1); });
    };
    try {
      for (let i = 0; i < CALLERS; i++) {
        const { port1, port2 } = new MessageChannel();
        const control = new SharedArrayBuffer(CONTROL_BYTES);
        const doorbell = new SharedArrayBuffer(DOORBELL_BYTES);
        const pid = i + 1;
        kernel.addPd({
          pid,
          name: `caller${i}`,
          control: new Int32Array(control),
          doorbell,
          alive: () => true,
          post: (m, t) => { port1.postMessage(m, t ?? []); },
          take: () => receiveMessageOnPort(port1),
          connected: new Set(Array.from({ length: ROUNDS }, (_, r) => `receiver${r}`)),
          fault: (error) => { throw error; },
        });
        ports.push(port1);
        const worker = new Worker(shim, { workerData: { module: callerModule, name: `caller${i}`, port: port2, control, doorbell, kernelBell }, transferList: [port2] });
        worker.on("message", (m: { round?: number; outcome?: string }) => {
          if (m.round !== undefined) outcomes[i]!.push({ round: m.round, outcome: m.outcome! });
          wake();
        });
        workers.push(worker);
        await new Promise((resolve) => worker.once("message", resolve));
      }
      for (let round = 0; round < ROUNDS; round++) {
        // A fresh receiver each round (it never takes a call: it is killed with all of them in flight).
        const receiverPid = 1000 + round;
        const mail: KernelToPd[] = [];
        let alive = true;
        const receiver: IpcPd = {
          pid: receiverPid,
          name: `receiver${round}`,
          control: new Int32Array(new SharedArrayBuffer(CONTROL_BYTES)),
          doorbell: new SharedArrayBuffer(DOORBELL_BYTES),
          alive: () => alive,
          post: (m) => { mail.push(m); },
          take: () => undefined,
          connected: new Set(Array.from({ length: CALLERS }, (_, c) => `caller${c}`)),
          fault: (error) => { throw error; },
        };
        kernel.addPd(receiver);
        const { grant } = kernel.handle(receiverPid, { op: "create-endpoint" }) as { grant: { token: bigint } };
        for (let i = 0; i < CALLERS; i++) {
          kernel.handle(receiverPid, { op: "grant", token: grant.token, to: i + 1, rights: Rights.SEND, name: `ep-${round}`, move: false });
        }
        workers.forEach((w) => { w.postMessage(round); });
        // Kill it only when every caller is blocked in its call (its slot CALLED), so each is woken mid-call.
        const called = (): boolean =>
          mail.filter((m) => m.kind === "slot").length === CALLERS &&
          mail.every((m) => m.kind !== "slot" || Atomics.load(new Int32Array(m.slot), SLOT_I32.STATE) === SlotState.CALLED);
        await until(called);
        alive = false;
        kernel.cleanupProcess(receiverPid);
        await until(() => outcomes.every((o) => o.length === round + 1));
      }
      for (const o of outcomes) {
        assert.equal(o.length, ROUNDS);
        const wrong = o.filter((x) => x.outcome !== "PeerDied");
        assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} calls did not end with PeerDied`);
      }
      assert.equal(kernel.stats().endpointsLive, 0);
    } finally {
      kernel.stop();
      await Promise.all(workers.map((w) => w.terminate()));
      ports.forEach((p) => { p.close(); });
    }
  });
});
