/**
 * A PD's output ring: the lines its `debugPrintln` writes, in a SharedArrayBuffer that only the PD and the
 * kernel hold. The kernel drains it on a timer, a bounded number of slots per PD per turn, so a PD that prints
 * as fast as it can costs the kernel bounded work per turn (a flood over `postMessage` was delivered to the
 * kernel as one task holding the whole backlog). Both halves live here: the PD's writer and the kernel's reader.
 *
 * Layout (byte offsets; HEAD and TAIL each on its own 128-byte line with one writer):
 *
 *  byte | field        | written by                                      | read by
 *  -----+--------------+-------------------------------------------------+--------------------------------
 *     0 | MAGIC        | kernel, at creation                             | writer (sanity)
 *     4 | SLOTS        | kernel, at creation (a power of two)            | writer; the kernel keeps its own copy
 *     8 | LOST         | writer: Atomics.add 1 per line it dropped       | kernel (a hint for the notice only)
 *       |              | because the ring was full                       |
 *   128 | HEAD         | writer: slots published (mod 2^32)              | kernel
 *   256 | TAIL         | kernel: slots consumed (mod 2^32)               | writer
 *   384 | slots...     | slot i at 384 + (i mod SLOTS) * 128:            |
 *       |              |   u32 bytes in this slot (bits 0-15), MORE (bit 31: the line goes on in the next slot)
 *       |              |   u32 unused; f64 `at` (ms since the epoch, first slot of a line); 112 bytes UTF-8
 *
 * Ordering: the writer fills slots with plain stores, then publishes them with one `Atomics.store` of HEAD; the
 * kernel reads HEAD with `Atomics.load`, copies the slots into its own memory, then frees them with one
 * `Atomics.store` of TAIL. The writer never blocks: a line that does not fit is dropped and counted in LOST.
 *
 * Every word is writable by the PD, so the kernel trusts none of them: it keeps SLOTS and its TAIL privately,
 * refuses a HEAD more than SLOTS ahead or a slot length out of range (`OutputRingReader.drain` says so and the
 * kernel faults the PD), cuts a line that never ends, and reads LOST only to say how many lines were lost.
 */

const MAGIC = 0x4f_6f_73_69; // "isoO"
const LINE = 128;
const I32_MAGIC = 0;
const I32_SLOTS = 1;
const I32_LOST = 2;
const I32_HEAD = LINE / 4;
const I32_TAIL = (2 * LINE) / 4;
const DATA = 3 * LINE;
/** Bytes per slot, and the text bytes it carries after its 16-byte header. */
const SLOT_BYTES = 128;
const SLOT_TEXT = SLOT_BYTES - 16;
const MORE = 0x8000_0000;
const LENGTH_MASK = 0xffff;

/** Makes the memory of an output ring with room for at least `lines` short lines (4 ≤ slots ≤ 65,536). */
export function createOutputRing(lines: number): SharedArrayBuffer {
  const slots = 2 ** Math.min(16, Math.max(2, Math.ceil(Math.log2(Math.max(1, lines)))));
  const buffer = new SharedArrayBuffer(DATA + slots * SLOT_BYTES);
  const i32 = new Int32Array(buffer);
  i32[I32_MAGIC] = MAGIC;
  i32[I32_SLOTS] = slots;
  return buffer;
}

/** The PD's half. One writer per ring (the PD's runtime). */
export class OutputRingWriter {
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly f64: Float64Array;
  private readonly slots: number;
  private readonly encoder = new TextEncoder();

  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.f64 = new Float64Array(buffer);
    const slots = this.i32[I32_SLOTS] ?? 0;
    if (this.i32[I32_MAGIC] !== MAGIC || slots < 1 || DATA + slots * SLOT_BYTES > buffer.byteLength) {
      throw new RangeError("output ring: the buffer is not an output ring made by createOutputRing");
    }
    this.slots = slots;
  }

  /**
   * Publishes one line written at `at`. Returns false, and counts the line in LOST, if the ring has no room
   * (the kernel drains it every few milliseconds; a PD that prints faster loses lines rather than waiting).
   * Allocation: the line's UTF-8 bytes.
   */
  write(text: string, at: number): boolean {
    const encoded = this.encoder.encode(text);
    const need = Math.max(1, Math.ceil(encoded.length / SLOT_TEXT));
    const head = Atomics.load(this.i32, I32_HEAD); // only this writer stores HEAD
    const tail = Atomics.load(this.i32, I32_TAIL); // acquire: the slots before it are free
    if (need > this.slots - ((head - tail) >>> 0)) {
      Atomics.add(this.i32, I32_LOST, 1);
      return false;
    }
    for (let k = 0; k < need; k++) {
      const slot = DATA + ((head + k) & (this.slots - 1)) * SLOT_BYTES;
      const part = encoded.subarray(k * SLOT_TEXT, (k + 1) * SLOT_TEXT);
      this.i32[slot / 4] = part.length | (k < need - 1 ? MORE : 0);
      if (k === 0) this.f64[(slot + 8) / 8] = at;
      this.bytes.set(part, slot + 16);
    }
    Atomics.store(this.i32, I32_HEAD, (head + need) | 0); // publishes the slots written above
    return true;
  }
}

/** One line taken from the ring: its bytes (copied out of shared memory), its stamp, and bytes cut from it. */
export interface OutputRingLine {
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly cut: number;
}

/** The kernel's half. Keeps its own copy of everything the PD could change under it. */
export class OutputRingReader {
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly f64: Float64Array;
  private readonly slots: number;
  private tail = 0;
  private lostSeen = 0;
  /** A line whose slots so far said MORE: its bytes up to `maxLineBytes`, its stamp, and bytes cut. */
  private partial: { chunks: Uint8Array[]; length: number; at: number; cut: number } | undefined;
  private readonly maxLineBytes: number;

  constructor(buffer: SharedArrayBuffer, maxLineBytes: number) {
    this.i32 = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.slots = this.i32[I32_SLOTS]!; // read before the PD has the buffer
    this.maxLineBytes = maxLineBytes;
  }

  /**
   * Takes at most `maxSlots` slots and hands each complete line to `line`; a line may also end because it grew
   * past `maxLineBytes` (the rest of it is cut). Returns undefined, or what is wrong with the ring (the PD
   * wrote words only its writer half must not write that way); the ring is then not read again.
   */
  drain(maxSlots: number, line: (line: OutputRingLine) => void): string | undefined {
    const head = Atomics.load(this.i32, I32_HEAD); // acquire: the slots before it are written
    const full = (head - this.tail) >>> 0;
    if (full > this.slots) return `its output ring's HEAD is ${full} slots ahead of what the kernel took, in a ring of ${this.slots}`;
    const n = Math.min(full, maxSlots);
    for (let k = 0; k < n; k++) {
      const slot = DATA + ((this.tail + k) & (this.slots - 1)) * SLOT_BYTES;
      const word = this.i32[slot / 4]! >>> 0;
      const length = word & LENGTH_MASK;
      if (length > SLOT_TEXT) return `its output ring holds a slot of ${length} bytes (at most ${SLOT_TEXT})`;
      const partial = (this.partial ??= { chunks: [], length: 0, at: this.f64[(slot + 8) / 8]!, cut: 0 });
      const keep = Math.min(length, this.maxLineBytes - partial.length);
      if (keep > 0) {
        partial.chunks.push(this.bytes.slice(slot + 16, slot + 16 + keep)); // a private copy: the PD may write on
        partial.length += keep;
      }
      partial.cut += length - keep;
      if ((word & MORE) === 0) {
        this.partial = undefined;
        line({ bytes: concat(partial.chunks, partial.length), at: partial.at, cut: partial.cut });
      }
    }
    this.tail = (this.tail + n) | 0;
    Atomics.store(this.i32, I32_TAIL, this.tail); // frees the slots just copied
    return undefined;
  }

  /** Lines the PD says it dropped because the ring was full, since the last call (a hint: the PD writes it). */
  takeLost(): number {
    const lost = Atomics.load(this.i32, I32_LOST) >>> 0;
    const delta = (lost - this.lostSeen) >>> 0;
    this.lostSeen = lost;
    return delta;
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
