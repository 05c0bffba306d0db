// 20,000 protected calls with seeded random counts (0..64) and 64-bit values; every reply is checked.
import { Channel, debugPrintln, MessageInfo, protectionDomain, withMsgRegs, withMsgRegsMut } from "../../src/index.ts";

const SERVER = new Channel(0);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

export default protectionDomain({
  init() {
    const random = rng(0x15_0c1d);
    const expected = new BigUint64Array(64);
    let bad = 0;
    for (let call = 0; call < 20_000; call++) {
      const count = Math.floor(random() * 65);
      withMsgRegsMut((regs) => {
        for (let i = 0; i < count; i++) {
          const v = (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
          regs[i] = v;
          expected[count - 1 - i] = v;
        }
      });
      const reply = SERVER.ppcall(new MessageInfo(call, count));
      const ok = withMsgRegs((regs) => {
        for (let i = 0; i < count; i++) if (regs[i] !== expected[i]) return false;
        return true;
      });
      if (!ok || reply.label !== call + 1 || reply.count !== count) bad++;
    }
    debugPrintln(`calls=20000 bad=${bad}`);
  },
});
