// postMessage peers: what isokit's data path avoids. Main <-> worker and worker <-> worker (MessageChannel)
// round trips with 64 bytes, pipelined 64-byte messages, and a transferred 1 MiB ArrayBuffer.
import { MessageChannel, type Worker } from "node:worker_threads";
import type { BenchCase } from "../harness.ts";
import { ready, request } from "../threads.ts";

const MIB = 1 << 20;

/** `n` round trips main -> worker -> main, one at a time; resolves to µs per round trip. */
function roundTrips(worker: Worker, n: number, send: () => void, check: (reply: unknown) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let left = n;
    let start = 0;
    const finish = (error?: Error): void => {
      worker.off("message", onReply);
      worker.off("error", finish);
      worker.off("exit", onExit);
      if (error === undefined) resolve(((performance.now() - start) * 1000) / n);
      else reject(error);
    };
    const onExit = (code: number): void => {
      finish(new Error(`echo worker exited with code ${code}`));
    };
    // Callback-driven, like the worker <-> worker loop in ports.mjs: no promise per message.
    const onReply = (m: unknown): void => {
      try {
        check(m);
        if (--left > 0) send();
        else finish();
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      }
    };
    worker.on("message", onReply);
    worker.once("error", finish);
    worker.once("exit", onExit);
    start = performance.now();
    try {
      send();
    } catch (e) {
      finish(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

function postMessageRtt(): BenchCase {
  let worker: Worker | undefined;
  const payload = new Uint8Array(64).fill(7);
  return {
    id: "postmessage.rtt",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["floor.futex"],
    note: "64-byte Uint8Array, main <-> worker",
    async setup(context) {
      worker = context.spawn("echo.mjs");
      await ready(worker, "postmessage.rtt echo");
    },
    run(_round, context) {
      const w = worker!;
      return roundTrips(
        w,
        Math.max(200, Math.round(5_000 * context.scale)),
        () => {
          w.postMessage(payload);
        },
        (m) => {
          if (!(m instanceof Uint8Array) || m.byteLength !== 64) throw new Error(`postmessage.rtt: bad echo ${String(m)}`);
        },
      );
    },
  };
}

function transfer1MiB(): BenchCase {
  let worker: Worker | undefined;
  let buffer = new ArrayBuffer(0);
  return {
    id: "postmessage.1mib.transfer",
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["postmessage.rtt"],
    note: "1 MiB ArrayBuffer in the transfer list, main -> worker -> main",
    async setup(context) {
      worker = context.spawn("echo.mjs");
      buffer = new ArrayBuffer(MIB);
      new Uint8Array(buffer).fill(1); // touch every page once, so no round pays for first faults
      await ready(worker, "postmessage.1mib.transfer echo");
    },
    run(_round, context) {
      const w = worker!;
      return roundTrips(
        w,
        Math.max(200, Math.round(4_000 * context.scale)),
        () => {
          w.postMessage(buffer, [buffer]);
          // A transferred buffer is detached here; a copied one would not be, and would measure a memcpy.
          if (buffer.byteLength !== 0) throw new Error("postmessage.1mib.transfer: the buffer was copied, not transferred");
        },
        (m) => {
          if (!(m instanceof ArrayBuffer) || m.byteLength !== MIB) throw new Error("postmessage.1mib.transfer: bad echo");
          buffer = m;
        },
      );
    },
  };
}

/** Two workers joined by a MessageChannel, one port transferred to each (see ports.mjs for the roles). */
function portPair(
  id: string,
  roles: readonly [driver: "ping" | "send", peer: "echo" | "recv"],
  operations: number,
  shape: Omit<BenchCase, "id" | "setup" | "run">,
): BenchCase {
  let driver: Worker | undefined;
  return {
    id,
    ...shape,
    async setup(context) {
      const { port1, port2 } = new MessageChannel();
      const peer = context.spawn("ports.mjs", { workerData: { port: port2, role: roles[1] }, transferList: [port2] });
      driver = context.spawn("ports.mjs", { workerData: { port: port1, role: roles[0] }, transferList: [port1] });
      await Promise.all([ready(peer, `${id} ${roles[1]}`), ready(driver, `${id} ${roles[0]}`)]);
    },
    run(_round, context) {
      return request(driver!, { n: Math.max(500, Math.round(operations * context.scale)) }, `${id} ${roles[0]}`);
    },
  };
}

const cases: readonly BenchCase[] = [
  postMessageRtt(),
  portPair("messageport.rtt", ["ping", "echo"], 5_000, {
    unit: "µs/op",
    lowerIsBetter: true,
    baseline: ["postmessage.rtt"],
    note: "64-byte Uint8Array, worker <-> worker over a MessageChannel",
  }),
  portPair("postmessage.pipelined", ["send", "recv"], 100_000, {
    unit: "M msg/s",
    lowerIsBetter: false,
    note: "64-byte messages worker -> worker over a MessageChannel, no wait per message",
  }),
  transfer1MiB(),
];

export default cases;
