// Shared regions made at run time: share (read-write), read-only, and move (engine transfer); a message carries
// (offset, length) into a region instead of the bytes.
import {
  createEndpoint,
  createRegion,
  debugPrintln,
  grantCap,
  lookupCapability,
  mapRegion,
  moveBuffer,
  pdName,
  protectionDomain,
  receive,
  receiveBuffer,
  Rights,
  send,
} from "../../../src/index.ts";
import { dec, enc, expectCode } from "./util.ts";

function owner(): void {
  const { cap, region } = createRegion(4096);
  region.writableBytes().set(enc("hello"), 0);
  expectCode("a region of 0 bytes", () => createRegion(0));
  const ep = createEndpoint();
  for (const pd of ["reader", "writer"]) grantCap(ep.cap.derive(Rights.SEND | Rights.GRANT), pd, Rights.SEND, { name: "ep" });
  const readOnly = cap.derive(Rights.RECEIVE | Rights.GRANT | Rights.REVOKE);
  grantCap(readOnly, "reader", Rights.RECEIVE, { name: "region" });
  grantCap(cap.derive(Rights.RECEIVE | Rights.SEND | Rights.GRANT), "writer", Rights.RECEIVE | Rights.SEND, { name: "region" });
  for (let got = 0; got < 2; got++) {
    const m = receive(ep.cap, { timeout: 20_000 });
    if (m.sender === "writer") {
      const view = new DataView(m.data.buffer);
      const offset = view.getUint32(0, true);
      const length = view.getUint32(4, true);
      debugPrintln(`writer refers to (${offset}, ${length}): ${dec(region.bytes.subarray(offset, offset + length))}`);
    } else {
      debugPrintln(`reader says: ${dec(m.data)}`);
    }
  }
  debugPrintln(`revoked ${readOnly.revoke()}`);
  const kept = new ArrayBuffer(8);
  expectCode("a move to a PD that does not exist", () => { moveBuffer(kept, "nobody", "blob"); });
  debugPrintln(`the buffer is still here: ${kept.byteLength} bytes`);
  const blob = new ArrayBuffer(16);
  new Uint8Array(blob).fill(9);
  moveBuffer(blob, "reader", "blob");
  debugPrintln(`after the move: ${blob.byteLength} bytes left here`);
  debugPrintln(`reader says: ${dec(receive(ep.cap, { timeout: 20_000 }).data)}`);
}

function reader(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const regionCap = lookupCapability("region", { timeout: 20_000 });
  const region = mapRegion(regionCap);
  const write = expectCode("write through a read-only map", () => region.writableBytes());
  send(ep, enc(`read ${dec(region.bytes.subarray(0, 5))}; write ${write}`));
  const { buffer, from } = receiveBuffer("blob", { timeout: 20_000 }); // moved after the revoke
  const map = expectCode("map after the revoke", () => mapRegion(regionCap));
  send(ep, enc(`map ${map}; ${buffer.byteLength} bytes from ${from}, all 9: ${new Uint8Array(buffer).every((b) => b === 9)}`));
}

function writer(): void {
  const ep = lookupCapability("ep", { timeout: 20_000 });
  const region = mapRegion(lookupCapability("region", { timeout: 20_000 }));
  region.writableBytes().set(enc("world"), 100);
  const ref = new Uint8Array(8);
  new DataView(ref.buffer).setUint32(0, 100, true);
  new DataView(ref.buffer).setUint32(4, 5, true);
  send(ep, ref);
}

export default protectionDomain({
  init() {
    const name = pdName();
    if (name === "owner") owner();
    else if (name === "reader") reader();
    else writer();
  },
});
