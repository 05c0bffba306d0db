// Maps the region PD "owner" lends it, makes every kind of view of it while the capability is held, asks the
// owner to revoke it, then tries each view made before: every access must be refused (typed), none may write
// or read the memory. Prints one line per attempt.
import { call, debugPrintln, defineLayout, isIpcError, lookupCapability, mapRegion, protectionDomain, string, struct, u32 } from "../../../src/index.ts";

const Entry = defineLayout(struct({ n: u32, s: string(8) }));

function attempt(what: string, body: () => unknown): void {
  try {
    const result = body();
    debugPrintln(`${what}: ESCAPED (${String(result)})`);
  } catch (error) {
    debugPrintln(`${what}: blocked ${isIpcError(error) ? error.code : error instanceof Error ? error.name : typeof error}`);
  }
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export default protectionDomain({
  init() {
    const ep = lookupCapability("ep", { timeout: 20_000 });
    const cap = lookupCapability("region", { timeout: 20_000 });
    const region = mapRegion(cap);
    const view = region.writableBytes();
    view.set(text("A1"), 0);
    const sub = view.subarray(16);
    const dv = new DataView(region.bytes.buffer);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the attack under test: a method kept before the revoke
    const slice = view.slice;
    const decoder = new TextDecoder();
    const entry = Entry.view(view, 32); // a layout view over the guarded view: its DataView is guarded too
    entry.$set({ n: 5, s: "hi" });
    const held = entry as unknown as { $core: { bytes: { buffer: unknown } }; $dv: { buffer: unknown } };
    // Both are stand-ins (plain frozen objects), never a SharedArrayBuffer.
    const kinds = [held.$core.bytes.buffer, held.$dv.buffer].map((b) => Object.prototype.toString.call(b));
    debugPrintln(`a layout view: n=${entry.n} s=${entry.s}; what it holds: ${kinds.join(" ")}`);
    debugPrintln(`before: ${decoder.decode(view.subarray(0, 2))}, the owner says ${decoder.decode(call(ep, text("revoke"), { timeout: 20_000 }).data)}`);
    attempt("write an element", () => (view[2] = 1));
    attempt("set", () => { view.set([1], 3); });
    attempt("fill", () => view.fill(1, 4, 6));
    attempt("a subarray made before (write)", () => (sub[0] = 1));
    attempt("a subarray made before (read)", () => sub[0]);
    attempt("a DataView made before (setUint32)", () => { dv.setUint32(8, 1); });
    attempt("a DataView made before (getUint32)", () => dv.getUint32(16));
    attempt("read an element", () => view[16]);
    attempt("a kept slice method", () => decoder.decode(slice.call(view, 16, 22)));
    attempt("TextDecoder over the view", () => decoder.decode(view));
    attempt("a layout view made before (read)", () => entry.n);
    attempt("a layout view made before (write)", () => (entry.n = 6));
    attempt("a layout view made before (string)", () => entry.s);
    attempt("a layout view made after", () => Entry.view(view, 32).n);
    attempt("writableBytes()", () => region.writableBytes());
    attempt("map it again", () => mapRegion(cap));
    call(ep, text("check"), { timeout: 20_000 });
    debugPrintln(`the owner still answers: ${decoder.decode(call(ep, text("ping"), { timeout: 20_000 }).data)}`);
  },
});
