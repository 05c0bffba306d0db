// The hot loop of ppcall.hot (ppcall-client.ts) and ppcall.hot.dashboard (ppcall-client-gated.ts): `n`
// back-to-back ppcalls on channel 0 carrying one register, checked at the end; returns µs per call.
import { Channel, getMr, MessageInfo, setMr } from "../../src/index.ts";

const SERVER = new Channel(0);

export function hot(n: number): number {
  const info = new MessageInfo(1, 1);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    setMr(0, i);
    SERVER.ppcall(info);
  }
  const elapsed = performance.now() - start;
  if (getMr(0) !== n) throw new Error(`bad reply ${getMr(0)}`);
  return (elapsed * 1000) / n;
}
