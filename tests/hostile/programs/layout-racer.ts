// The hostile client: rewrites the string in its own region between ADMIN and GUEST as fast as it can, trying
// to make the server read the honest client's GUEST as ADMIN (a reader cache shared between views, or bytes
// compared to a cache that were not the bytes decoded). Stops when the server sets STOP (or after a hang guard).
import { memoryRegion, protectionDomain } from "../../../src/index.ts";
import { ADMIN, CTL, GUEST, Name, VALUE_AT } from "./layout-names.ts";

export default protectionDomain({
  init() {
    const bytes = memoryRegion("mine").writableBytes();
    const ctl = new Int32Array(bytes.buffer, 0, 16);
    const view = Name.view(bytes, VALUE_AT);
    view.name = GUEST; // before READY: the server must not read the region's zeros (an empty name) as a lie
    Atomics.store(ctl, CTL.READY, 1);
    Atomics.notify(ctl, CTL.READY);
    const deadline = Date.now() + 30_000; // hang guard only: the server stops us long before
    for (let i = 0; Atomics.load(ctl, CTL.STOP) === 0; i++) {
      view.name = (i & 1) === 0 ? ADMIN : GUEST;
      Atomics.add(ctl, CTL.WRITES, 1);
      if ((i & 0xfff) === 0 && Date.now() > deadline) break;
    }
  },
});
