/**
 * PD output in workers mode: what each PD prints, taken from its output ring (`debugPrintln`) and from its
 * worker's stdout and stderr (raw `console.log`, `process.stdout.write`), and emitted as `output` events under
 * the PD's name. Everything here is untrusted text from a PD, so:
 *
 * - one event per line: a newline in the text starts a new line under the same PD's name, so a PD cannot make
 *   a line that looks like another PD's; control characters (ESC, CR, BEL, ...) are shown escaped (`\x1b`);
 * - quotas per PD (`Limits.outputLinesPerSec`, `outputBytesPerSec`, `outputLineLength`): lines past them are
 *   dropped and counted (`quotaHits`), and one notice line per PD per second says how many;
 * - bounded work: each turn takes at most a fixed number of slots from each ring and bytes from each stream;
 *   a line over the quota is dropped before it is decoded;
 * - a line's time stamp (which orders lines of different PDs) is clamped to [the PD's previous line, now], so a
 *   stamp in the future cannot hold lines back.
 */

import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import type { Limits } from "../protocol/limits.ts";
import { OutputRingReader } from "../shm/output-ring.ts";
import type { RingGeometry } from "../shm/ring.ts";

/** How long lines wait so lines from different PDs can be put in the order they were written. */
export const OUTPUT_WINDOW_MS = 25;
/** Most ring lines and stream bytes taken per PD per turn: the bound on the kernel's work for one PD. */
const LINES_PER_TURN = 4096;
const STREAM_BYTES_PER_TURN = 64 * 1024;
/** Text queued from one stream past which the stream is paused. */
const STREAM_QUEUE_BYTES = 256 * 1024;
const NOTICE_EVERY_MS = 1000;

interface Line {
  readonly pd: string;
  readonly text: string;
  readonly at: number;
}

/** A worker's stdout or stderr: text received and not yet split into lines, and what is left of a line. */
interface StreamState {
  readonly stream: Readable;
  readonly decoder: StringDecoder;
  readonly queue: string[];
  queued: number;
  rest: string;
}

interface PdOutput {
  readonly name: string;
  readonly ring: OutputRingReader;
  readonly streams: StreamState[];
  /** The ring broke the protocol: not read again (the PD is faulted by whoever gets the error). */
  broken: boolean;
  lastAt: number;
  lineTokens: number;
  byteTokens: number;
  refilledAt: number;
  dropped: number;
  noticedAt: number;
}

export class KernelOutput {
  private readonly pds = new Map<string, PdOutput>();
  private readonly pending: Line[] = [];
  private readonly limits: Limits;
  private readonly emit: (pd: string, text: string) => void;
  private readonly quotaHit: (limit: "outputLinesPerSec" | "outputBytesPerSec" | "outputLineLength") => void;
  private readonly onBroken: (pd: string, why: string) => void;
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  constructor(
    limits: Limits,
    emit: (pd: string, text: string) => void,
    quotaHit: (limit: "outputLinesPerSec" | "outputBytesPerSec" | "outputLineLength") => void,
    onBroken: (pd: string, why: string) => void,
  ) {
    this.limits = limits;
    this.emit = emit;
    this.quotaHit = quotaHit;
    this.onBroken = onBroken;
  }

  /** Starts draining `pd`'s ring and, if given, its worker's stdout and stderr. */
  add(pd: string, ring: SharedArrayBuffer, geometry: RingGeometry, streams: readonly (Readable | null | undefined)[]): void {
    const now = Date.now();
    this.pds.set(pd, {
      name: pd,
      // A line may take up to 4 UTF-8 bytes per UTF-16 unit; more than that can only be cut.
      ring: new OutputRingReader(ring, this.limits.outputLineLength * 4, geometry),
      streams: streams.filter((s): s is Readable => s != null).map((stream) => this.watch(stream)),
      broken: false,
      lastAt: 0,
      lineTokens: this.limits.outputLinesPerSec,
      byteTokens: this.limits.outputBytesPerSec,
      refilledAt: now,
      dropped: 0,
      noticedAt: 0,
    });
  }

  /**
   * Takes what `stream` delivers into a queue the turns drain. Past STREAM_QUEUE_BYTES the stream is paused,
   * which stops asking the worker for more (worker stdio has backpressure): a flood of raw console.log holds
   * the flooding worker's own writes back, and the kernel holds at most the queue and one delivery.
   */
  private watch(stream: Readable): StreamState {
    const state: StreamState = { stream, decoder: new StringDecoder("utf8"), queue: [], queued: 0, rest: "" };
    stream.on("data", (chunk: Buffer | string) => {
      const text = typeof chunk === "string" ? chunk : state.decoder.write(chunk);
      state.queue.push(text);
      state.queued += text.length;
      if (state.queued > STREAM_QUEUE_BYTES) stream.pause();
    });
    stream.on("error", () => undefined); // a broken pipe from a dead worker is not the kernel's problem
    return state;
  }

  /**
   * One turn (the kernel's tick calls it every KERNEL_TICK_MS, kernel/worker-system.ts): drain every PD that has
   * something (bounded), then emit the lines old enough to be in order (or, with `all`, drain every PD and emit
   * every line). A PD with nothing costs one load of its ring's HEAD and a look at its streams' queues; a turn
   * with nothing anywhere reads no clock and returns.
   */
  turn(all: boolean): void {
    let now = 0;
    for (const pd of this.pds.values()) {
      if (!all && !this.hasOutput(pd)) continue;
      if (now === 0) now = Date.now();
      this.drain(pd, now, all);
    }
    if (all || this.pending.length > 0) this.flush(all, now === 0 ? Date.now() : now);
  }

  /**
   * Whether a turn has work for `pd`: lines in its ring (one `Atomics.load` of HEAD, the PD's word: a HEAD that
   * claims lines only makes the turn drain the ring, which takes at most LINES_PER_TURN and refuses a ring that
   * breaks the rules), text its streams delivered, or dropped lines still to be told. Its token buckets refill by
   * the time elapsed when it is next drained, as if refilled every turn.
   */
  private hasOutput(pd: PdOutput): boolean {
    if (pd.dropped !== 0 || (!pd.broken && pd.ring.hasLines())) return true;
    for (const s of pd.streams) if (s.queue.length > 0) return true;
    return false;
  }

  /** Drains everything (bounded by what the rings and stream buffers hold) and emits every line. */
  close(): void {
    this.turn(true);
    for (const pd of this.pds.values()) {
      for (const s of pd.streams) {
        const tail = s.rest + s.decoder.end();
        s.rest = "";
        if (tail !== "") this.take(pd, tail, Date.now());
      }
      this.notice(pd, Date.now(), true);
    }
    this.flush(true, Date.now());
  }

  private drain(pd: PdOutput, now: number, all: boolean): void {
    this.refill(pd, now);
    if (!pd.broken) {
      const error = pd.ring.drain(LINES_PER_TURN, (line) => {
        // The quota is checked before the bytes are decoded: a flood costs a few loads per line.
        if (!this.admit(pd, line.bytes.length)) return;
        let text = this.decoder.decode(line.bytes);
        if (line.cut > 0) text += ` [isokit: ${line.cut} more bytes cut]`;
        this.take(pd, text, line.at, true);
      });
      if (error !== undefined) {
        pd.broken = true;
        this.onBroken(pd.name, error);
      }
      const lost = pd.ring.takeLost();
      if (lost > 0) pd.dropped += Math.min(lost, 1_000_000_000);
    }
    for (const s of pd.streams) {
      let budget = STREAM_BYTES_PER_TURN;
      while (budget > 0 && s.queue.length > 0) {
        const chunk = s.queue.shift()!;
        s.queued -= chunk.length;
        budget -= chunk.length;
        s.rest += chunk;
        let nl: number;
        while ((nl = s.rest.indexOf("\n")) >= 0) {
          const text = s.rest.slice(0, nl);
          s.rest = s.rest.slice(nl + 1);
          if (this.admit(pd, text.length)) this.take(pd, text, now, true);
        }
        if (s.rest.length > this.limits.outputLineLength) {
          const text = s.rest;
          s.rest = "";
          if (this.admit(pd, text.length)) this.take(pd, text, now, true);
        }
      }
      if (s.queued <= STREAM_QUEUE_BYTES && s.stream.isPaused()) s.stream.resume();
    }
    this.notice(pd, now, all);
  }

  /** Splits, cuts and escapes `text` into lines stamped `at` (clamped); with `admitted`, the first line is paid for. */
  private take(pd: PdOutput, text: string, at: number, admitted = false): void {
    const now = Date.now();
    const stamp = Math.min(Math.max(Number.isFinite(at) ? at : now, pd.lastAt), now);
    pd.lastAt = stamp;
    const parts = text.split("\n");
    for (let i = 0; i < parts.length; i++) {
      let line = parts[i]!;
      if (i === parts.length - 1 && line.endsWith("\r")) line = line.slice(0, -1); // a CRLF line end, not a forgery
      if ((i > 0 || !admitted) && !this.admit(pd, line.length)) continue;
      if (line.length > this.limits.outputLineLength) {
        this.quotaHit("outputLineLength");
        line = `${line.slice(0, this.limits.outputLineLength)} [isokit: ${line.length - this.limits.outputLineLength} more characters cut]`;
      }
      this.pending.push({ pd: pd.name, text: escapeControl(line), at: stamp });
    }
  }

  /** Pays for one line of `bytes` from the PD's buckets, or counts it dropped. */
  private admit(pd: PdOutput, bytes: number): boolean {
    if (pd.lineTokens < 1) {
      pd.dropped++;
      this.quotaHit("outputLinesPerSec");
      return false;
    }
    if (pd.byteTokens < bytes) {
      pd.dropped++;
      this.quotaHit("outputBytesPerSec");
      return false;
    }
    pd.lineTokens -= 1;
    pd.byteTokens -= bytes;
    return true;
  }

  /** Token buckets one second deep. */
  private refill(pd: PdOutput, now: number): void {
    const elapsed = Math.max(0, now - pd.refilledAt) / 1000;
    pd.refilledAt = now;
    pd.lineTokens = Math.min(this.limits.outputLinesPerSec, pd.lineTokens + elapsed * this.limits.outputLinesPerSec);
    pd.byteTokens = Math.min(this.limits.outputBytesPerSec, pd.byteTokens + elapsed * this.limits.outputBytesPerSec);
  }

  /** At most one notice per PD per second (and one at the end) says how many lines were dropped. */
  private notice(pd: PdOutput, now: number, force: boolean): void {
    if (pd.dropped === 0 || (!force && now - pd.noticedAt < NOTICE_EVERY_MS)) return;
    const n = pd.dropped;
    pd.dropped = 0;
    pd.noticedAt = now;
    const { outputLinesPerSec: lines, outputBytesPerSec: bytes } = this.limits;
    this.pending.push({
      pd: pd.name,
      text: `[isokit] ${n} ${n === 1 ? "line" : "lines"} of output dropped (quota: ${lines} lines/s, ${bytes} bytes/s per PD)`,
      at: Math.max(pd.lastAt, Math.min(now, pd.lastAt + 1)),
    });
  }

  private flush(all: boolean, now: number): void {
    if (this.pending.length === 0) return;
    const horizon = all ? Infinity : now - OUTPUT_WINDOW_MS;
    this.pending.sort((a, b) => a.at - b.at);
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.at <= horizon) n++;
    for (const line of this.pending.splice(0, n)) this.emit(line.pd, line.text);
  }
}

/**
 * `line` with every character that could move the cursor, recolour or re-title a terminal, or reorder text
 * shown escaped: C0 controls but tab, DEL, C1 controls, the line and paragraph separators and the bidi controls.
 */
export function escapeControl(line: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return line.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === "\r") return "\\r";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
