// Finding 19's attacker: derives up to 1,000 capabilities to the server's endpoint, connects each (raw
// `connect` syscalls), then keeps a message published in every slot it got, writing the slots itself (what
// its runtime's send writes, without waiting for any to be taken), until told to stop (ctl word 1) or the
// endpoint goes. ctl word 0: the flood is in full swing.
import { debugPrintln, lookupCapability, protectionDomain, Rights, type Capability } from "../../../src/index.ts";
import { layout } from "../../../src/internal.ts";
import { SLOT, SLOT_I32, SlotState } from "../../../src/protocol/endpoint.ts";
import { codeOf, count, ctl, rawClient, setWord, tally } from "./ep-common.ts";

const WANTED = 1000;

export default protectionDomain({
  init() {
    const c = ctl();
    const codes = new Map<string, number>();
    const slots: { i32: Int32Array; u8: Uint8Array; bell: Int32Array }[] = [];
    try {
      const ep = lookupCapability("ep", { timeout: 20_000 });
      const raw = rawClient().link;
      const derived: Capability[] = [ep];
      for (let i = 0; i < WANTED - 1; i++) {
        try {
          derived.push(ep.derive(Rights.SEND));
        } catch (error) {
          count(codes, `derive ${codeOf(error)}`);
          break;
        }
      }
      for (const cap of derived) {
        try {
          const grant = raw.syscall({ op: "connect", token: cap.token }) as { slot: SharedArrayBuffer; receiverDoorbell: SharedArrayBuffer };
          slots.push({ i32: new Int32Array(grant.slot), u8: new Uint8Array(grant.slot), bell: new Int32Array(grant.receiverDoorbell) });
        } catch (error) {
          count(codes, `connect ${codeOf(error)}`);
        }
      }
    } finally {
      setWord(c, 0);
    }
    debugPrintln(`flooding through ${slots.length}; ${tally(codes)}`);
    const deadline = performance.now() + 60_000;
    let seq = 0;
    for (let pass = 0; Atomics.load(c, 1) === 0 && slots.length > 0; pass++) {
      let open = 0;
      for (const s of slots) {
        if (Atomics.load(s.i32, SLOT_I32.GONE) !== 0) continue;
        open++;
        const state = Atomics.load(s.i32, SLOT_I32.STATE);
        if (state !== SlotState.IDLE && state !== SlotState.DELIVERED && state !== SlotState.REFUSED) continue;
        s.u8.fill(0xee, SLOT.DATA, SLOT.DATA + 64);
        s.i32[SLOT_I32.LENGTH] = 64;
        s.i32[SLOT_I32.LABEL] = 0;
        s.i32[SLOT_I32.TRANSFER] = 0;
        s.i32[SLOT_I32.SEQ] = seq = (seq + 1) | 0;
        Atomics.compareExchange(s.i32, SLOT_I32.STATE, state, SlotState.SENT);
      }
      const bell = slots[0]!.bell;
      if (Atomics.load(bell, layout.DOORBELL_I32.SLEEPING) !== 0) {
        Atomics.store(bell, layout.DOORBELL_I32.RING, 1);
        Atomics.notify(bell, layout.DOORBELL_I32.RING);
      }
      if (open === 0 || ((pass & 1023) === 0 && performance.now() > deadline)) break;
    }
  },
});
