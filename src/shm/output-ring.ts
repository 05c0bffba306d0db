/**
 * A PD's output ring: the lines its `debugPrintln` writes, in a SharedArrayBuffer that only the PD and the
 * kernel hold. The kernel drains it on its tick when it has lines (`hasLines`), a bounded number of lines per
 * PD per turn, so a PD that prints as fast as it can costs the kernel bounded work per turn (a flood over
 * `postMessage` was delivered to the kernel as one task holding the whole backlog). Both halves live here: the PD's writer and the kernel's reader.
 *
 * It is the one SPSC ring of shm/ring.ts (its layout, ordering and refusal of a hostile producer), with the PD
 * as producer and the kernel as consumer. A line is one message, split over consecutive slots when longer than
 * one:
 *
 *   offset | field
 *   -------+------------------------------------------------------------------------------
 *      0   | f64 `at`: when the line was written (ms since the epoch)
 *      8   | u32 lines the writer dropped since the last line it published (the ring was full)
 *     12   | UTF-8 text
 *
 * The writer never blocks: a line that does not fit is dropped and counted in the next line that does. The
 * kernel consumes with the geometry it created the ring with, so nothing the PD rewrites in the header changes
 * what it reads; a ring whose words break the ring's rules is refused (`OutputRingReader.drain` says why, and
 * the kernel faults the PD). The dropped count and `at` are the PD's word, for the notice and the ordering only.
 */

import { createRing, RingConsumer, RingProducer, ringGeometry, type RingGeometry } from "./ring.ts";

/** Payload bytes per slot: a slot is 128 bytes with its length and tag words. */
const SLOT_PAYLOAD = 120;
const HEADER = 12;

/** Makes the memory of an output ring with room for at least `lines` short lines (4 ≤ slots ≤ 65,536). */
export function createOutputRing(lines: number): SharedArrayBuffer {
  const slots = 2 ** Math.min(16, Math.max(2, Math.ceil(Math.log2(Math.max(1, lines)))));
  return createRing({ capacity: slots, slotPayload: SLOT_PAYLOAD });
}

/** The PD's half. One writer per ring (the PD's runtime). */
export class OutputRingWriter {
  private readonly ring: RingProducer;
  private readonly encoder = new TextEncoder();
  private lost = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.ring = new RingProducer(buffer); // the kernel made it; this side has only its own honesty to lose
  }

  /**
   * Publishes one line written at `at` (cut to what the ring can hold). Returns false, and counts the line
   * for the next one, if the ring has no room: the kernel drains it every few milliseconds, and a PD that
   * prints faster loses lines rather than waiting. Allocation: the line's bytes.
   */
  write(text: string, at: number): boolean {
    const encoded = this.encoder.encode(text);
    const length = Math.min(encoded.length, this.ring.maxMessage - HEADER);
    const message = new Uint8Array(HEADER + length);
    const view = new DataView(message.buffer);
    view.setFloat64(0, at, true);
    view.setUint32(8, this.lost, true);
    message.set(encoded.subarray(0, length), HEADER);
    if (!this.ring.tryPush(message)) {
      this.lost = Math.min(this.lost + 1, 0xffff_ffff);
      return false;
    }
    this.lost = 0;
    return true;
  }
}

/** One line taken from the ring: its bytes (copied out of shared memory), its stamp, and bytes cut from it. */
export interface OutputRingLine {
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly cut: number;
}

/** The kernel's half. */
export class OutputRingReader {
  private readonly ring: RingConsumer;
  private readonly maxLineBytes: number;
  private lost = 0;

  /** `buffer` straight from `createOutputRing`, before the PD has it: its geometry is read (and kept) now. */
  constructor(buffer: SharedArrayBuffer, maxLineBytes: number, geometry: RingGeometry = ringGeometry(buffer)) {
    this.ring = new RingConsumer(buffer, geometry);
    this.maxLineBytes = maxLineBytes;
  }

  /**
   * Takes at most `maxLines` lines and hands each to `line`, cut to `maxLineBytes`. Returns undefined, or what
   * is wrong with the ring (the PD wrote its words against the ring's rules); it is then not read again.
   */
  drain(maxLines: number, line: (line: OutputRingLine) => void): string | undefined {
    this.ring.popBatch(maxLines, (payload) => {
      if (payload.length < HEADER) return; // too short to be a line: only a PD writing by hand makes one
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      this.lost += view.getUint32(8, true);
      const length = Math.min(payload.length - HEADER, this.maxLineBytes);
      // a private copy: the PD may write on
      line({ bytes: payload.slice(HEADER, HEADER + length), at: view.getFloat64(0, true), cut: payload.length - HEADER - length });
    });
    return this.ring.refused;
  }

  /**
   * Whether `drain` would find anything: published slots, or a ring whose words break the rules (so that `drain`
   * says why). One `Atomics.load` of HEAD, the PD's word: lying, it can only make the kernel look (bounded) or
   * leave its own lines unread.
   */
  hasLines(): boolean {
    return this.ring.available() !== 0 || this.ring.refused !== undefined;
  }

  /** Lines the PD says it dropped because the ring was full, since the last call (a hint: the PD writes it). */
  takeLost(): number {
    const lost = this.lost;
    this.lost = 0;
    return lost;
  }
}
