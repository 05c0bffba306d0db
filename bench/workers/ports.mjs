// Worker <-> worker messaging over a MessageChannel: main creates the channel and transfers one port to each
// of two workers in workerData ({ port, role }). Roles:
//   echo   returns every message it gets on the port (the passive side of messageport.rtt)
//   ping   on { n } from main: n round trips of a 64-byte Uint8Array over the port, one at a time;
//          replies { value: µs per round trip }
//   send   on { n } from main: posts n 64-byte messages on the port back to back, then "end"; waits for the
//          receiver's count; replies { value: M messages per second } (postmessage.pipelined)
//   recv   counts messages on the port until "end", checks each is 64 bytes, answers the count on the port
// The timed loops are callback-driven (no promise per message) so they measure the messaging itself.
import { parentPort, workerData } from "node:worker_threads";

const { port, role } = workerData;
const payload = new Uint8Array(64).fill(7);

function fail(e) {
  parentPort.postMessage({ error: String(e?.message ?? e) });
}

if (role === "echo") {
  port.on("message", (m) => port.postMessage(m));
} else if (role === "recv") {
  let count = 0;
  let bad = 0;
  port.on("message", (m) => {
    if (m === "end") {
      port.postMessage({ count, bad });
      count = 0;
      bad = 0;
    } else {
      count++;
      if (!(m instanceof Uint8Array) || m.byteLength !== 64) bad++;
    }
  });
} else if (role === "ping") {
  parentPort.on("message", ({ n }) => {
    let left = n;
    let start = 0;
    const onReply = (m) => {
      if (--left > 0) {
        port.postMessage(payload);
        return;
      }
      const elapsed = performance.now() - start;
      port.off("message", onReply);
      if (!(m instanceof Uint8Array) || m.byteLength !== 64) fail(new Error(`bad echo ${m}`));
      else parentPort.postMessage({ value: (elapsed * 1000) / n });
    };
    port.on("message", onReply);
    start = performance.now();
    port.postMessage(payload);
  });
} else if (role === "send") {
  parentPort.on("message", ({ n }) => {
    port.once("message", ({ count, bad }) => {
      const elapsed = performance.now() - start;
      if (count !== n || bad !== 0) fail(new Error(`receiver counted ${count} messages (${bad} malformed), sent ${n}`));
      else parentPort.postMessage({ value: n / (elapsed * 1000) });
    });
    const start = performance.now();
    for (let i = 0; i < n; i++) port.postMessage(payload);
    port.postMessage("end");
  });
} else {
  throw new Error(`ports.mjs: unknown role ${role}`);
}
parentPort.postMessage({ ready: true });
