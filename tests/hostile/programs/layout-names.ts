// What the layout race test shares: the layout each client writes in its own region, the values it writes, and
// the control words (in the first 64 bytes of the hostile client's region) the server and the hostile use.
import { defineLayout, string, struct } from "../../../src/index.ts";

export const Name = defineLayout(struct({ name: string(64) }));
/** Where each client's value lies in its region (after the control words). */
export const VALUE_AT = 64;
const PAD = "-".repeat(55);
/** The honest client's only value. */
export const GUEST = `guest${PAD}`;
/** The hostile client alternates these two, of one length, so that a byte compare can pass between them. */
export const ADMIN = `admin${PAD}`;
/** Control words (Int32 indexes) in the hostile region: set by the hostile, then by the server to stop it. */
export const CTL = { READY: 0, WRITES: 1, STOP: 2 } as const;

/** Whether `text` is made only of bytes the hostile wrote: each character is ADMIN's or GUEST's at its place. */
export function madeOfWrittenBytes(text: string): boolean {
  if (text.length !== ADMIN.length) return false;
  for (let i = 0; i < text.length; i++) if (text[i] !== ADMIN[i] && text[i] !== GUEST[i]) return false;
  return true;
}
