// The record layout both sides agree on: 32 bytes per record, [u32 key][u32 name length][24 bytes of name].
export const RECORD_BYTES = 32;
export const RECORDS = 1024;

export function readRecord(db: Uint8Array, index: number): { key: number; name: string } {
  const at = index * RECORD_BYTES;
  const view = new DataView(db.buffer, db.byteOffset + at, RECORD_BYTES);
  const length = Math.min(view.getUint32(4, true), 24);
  return { key: view.getUint32(0, true), name: new TextDecoder().decode(db.slice(at + 8, at + 8 + length)) };
}
