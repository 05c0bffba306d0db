// A hostile server: label 0 is answered (MR0 = 42); label 1 sets off the bomb its PD name chooses, in
// protected(): "loop" never returns, "heap" allocates until its worker has no heap left, "stack" recurses
// without end. "slow" is honest: it computes for a while (well within its own budget) and answers.
import { MessageInfo, pdName, protectionDomain, setMr } from "../../../src/index.ts";

function recurse(depth: number): number {
  return recurse(depth + 1) + 1;
}

const bombs: Record<string, () => number> = {
  loop() {
    let n = 0;
    for (;;) n = (n + 1) | 0;
  },
  heap() {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array<number>(1 << 20).fill(1.5));
  },
  stack() {
    return recurse(0);
  },
  slow() {
    let x = 0;
    for (let i = 0; i < 400_000_000; i++) x = (x + i) | 0;
    return x & 1;
  },
};

export default protectionDomain({
  protected(_channel, info) {
    if (info.label === 1) bombs[pdName()]?.();
    setMr(0, 42);
    return new MessageInfo(0, 1);
  },
});
