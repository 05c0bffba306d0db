// Lending (flatipc): the client lends a typed value that lives in a shared region; the server works on it in
// place for one call. `client` and `server` run this same program.
import {
  acceptLend,
  Channel,
  debugPrintln,
  defineLayout,
  isIpcError,
  lend,
  lendable,
  lendMut,
  memoryRegion,
  MessageInfo,
  pdName,
  protectionDomain,
  string,
  struct,
  tryLend,
  u16,
  u32,
  u64,
  vec,
} from "../../src/index.ts";

const Counter = defineLayout(struct({ count: u32, total: u64, log: vec(u16, 4), note: string(16) }));
const Other = defineLayout(struct({ count: u32, total: u64 }));
const OP_BUMP = 1;
const OP_READ = 2;
const NOT_A_LEND = 98;

/** In the in-process mode both PDs share one global object: the server can try to touch the lender's view. */
const shared = globalThis as { isokitLentView?: { count: number } };

export default protectionDomain({
  init() {
    if (pdName() !== "client") return;
    const server = new Channel(0);
    const region = memoryRegion("shared");
    const view = lendable(Counter, region, 64);
    view.$set({ count: 1, total: 10n, log: [], note: "start" });
    shared.isokitLentView = view;
    const bumped = lendMut(server, OP_BUMP, view);
    debugPrintln(`after lendMut: count=${view.count} total=${view.total} log=${view.log.toArray().join(",")} note=${view.note} label=${bumped.label}`);
    const read = tryLend(server, OP_READ, view);
    debugPrintln(`tryLend read-only: ok=${read.ok} label=${read.ok ? read.reply.label : read.error.code}; count still ${view.count}`);
    const other = lendable(Other, region, 256);
    other.$set({ count: 7, total: 7n });
    debugPrintln(`a value of another layout: label=${lend(server, OP_READ, other).label}`);
    delete shared.isokitLentView;
  },
  protected(_channel, info) {
    const result = acceptLend(Counter, memoryRegion("shared"), info, (value, mutable) => {
      if (shared.isokitLentView !== undefined) {
        try {
          if (shared.isokitLentView.count < 0) debugPrintln("impossible");
          debugPrintln("the lender's view during the lend: readable");
        } catch (error) {
          debugPrintln(`the lender's view during the lend: ${isIpcError(error) ? error.code : String(error)}`);
        }
      }
      if (info.label === OP_BUMP) {
        value.count += 1;
        value.total *= 2n;
        value.log.push(value.count);
        value.note = "bumped";
        return 0;
      }
      try {
        value.count = 5;
        return 1;
      } catch (error) {
        return isIpcError(error, "PermissionDenied") && !mutable ? 2 : 3;
      }
    });
    return new MessageInfo(result ?? NOT_A_LEND, 0);
  },
});
