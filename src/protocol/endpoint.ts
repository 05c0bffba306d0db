/**
 * The shared-memory ABI of endpoints: the sender slot (one per sending capability) and the endpoint guard.
 * Mirrored in docs/protocol.md ("Endpoints"), which tests/protocol-doc.test.ts checks against the constants here.
 *
 * An endpoint has one receiver (the PD that created it) and any number of senders, each sending through its
 * own capability. Each sending capability gets its own slot buffer, shared by exactly that sender, the receiver
 * and the kernel: a sender can reach only its own slot, so a flooding or scribbling sender hurts only itself.
 * The guard buffer is shared by the receiver and the kernel only (no sender ever holds it): it carries what
 * binds — whether each slot's capability is still live — so revocation is checked where the sender cannot reach.
 *
 * Sender slot (byte offsets):
 *
 *  byte | field           | written by                                  | read by
 *  -----+-----------------+---------------------------------------------+-----------------------------------
 *    0  | MAGIC           | kernel, at creation                         | both (sanity)
 *    4  | SLOT_INDEX      | kernel, at creation                         | diagnostics
 *    8  | GONE            | kernel: why the slot no longer works        | sender, after every sleep slice and
 *       |                 | (SlotGone)                                  | on CLOSED
 *   12  | CLOSED_FROM     | kernel: STATE when it closed the slot,      | sender, on CLOSED: how its last
 *       |                 | written before CLOSED is published          | message ended
 *  128  | STATE           | see SlotState below                         | both
 *  132  | SENDER_SLEEPING | sender (1 while in Atomics.wait)            | receiver / kernel: notify only if 1
 *  136  | SEQ             | sender, per message (u32, wraps)            | receiver: the reply names it
 *  140  | LENGTH (u32)    | sender (request), receiver (reply)          | the other side, after STATE
 *  144  | LABEL (u32)     |   "                                         |   "
 *  148  | TRANSFER (u32)  | sender: kernel transfer id, 0 = none        | receiver (claims the granted caps)
 *  152  | ERROR (u32)     | receiver or kernel, with REFUSED            | sender
 *  160  | DATA (64 bytes) | sender (request), receiver (reply)          | the other side
 *
 * STATE, the header and the first half of the data share one 64-byte line: a small call moves that line to
 * the receiver and back. Each side copies what it reads into private memory before using it, so a peer that
 * keeps writing cannot change what was read.
 *
 * Guard (receiver and kernel only):
 *
 *  byte | field         | written by                                     | read by
 *  -----+---------------+------------------------------------------------+----------------------------------
 *  128  | STATUS[i]     | kernel: (generation << 3) | LIVE when slot i   | receiver, at every take from
 *       | (one i32 per  | is made, REVOKED / SENDER_DEAD (Atomics.       | slot i
 *       | slot)         | exchange) when its capability goes;            |
 *       |               | receiver: reads it, never writes it            |
 *
 * A slot index is reused once its capability is gone; its generation (bits 3-31) moves on, so a receiver's
 * record of an older slot at the same index never matches the word again.
 *
 * Revocation (no side ever waits for the other):
 *
 *   receiver                                  kernel (revoke)
 *   read STATUS[i]: LIVE (else refuse)          exchange STATUS[i] -> REVOKED
 *   read and check the message                  CAS slot SENT -> REFUSED (a send not yet taken)
 *   send: CAS slot SENT -> DELIVERED (commits)  (revoke returns)
 *   call: read STATUS[i] again: LIVE (commits;
 *         else the kernel revoked meanwhile:
 *         refuse the call)
 *
 * A send is taken at its slot's CAS, which the kernel's own CAS on the same word either precedes (REFUSED) or
 * follows (taken before revoke returned). A call is taken at the receiver's second read of STATUS, which the
 * kernel's exchange either precedes (the read sees it, the call is refused) or follows: Atomics are sequentially
 * consistent, so the two are ordered. So no message is taken through a revoked capability after revoke returns,
 * including one already waiting — and the receiver writes nothing in the guard (two loads per take, no CAS),
 * and the kernel never waits on a word the receiver could hold (a receiver that writes its STATUS words, say
 * TAKING, which the runtime no longer writes, only stops its own takes).
 */

import { LINE } from "./layout.ts";

export const SLOT_MAGIC = 0x45_6f_73_69; // "isoE" read as bytes

/** Bytes of inline message data: the fast path; larger messages are refused (`MessageTooLarge`). */
export const INLINE_BYTES = 64;

export const SLOT = {
  MAGIC: 0,
  SLOT_INDEX: 4,
  GONE: 8,
  CLOSED_FROM: 12,
  STATE: LINE,
  SENDER_SLEEPING: LINE + 4,
  SEQ: LINE + 8,
  LENGTH: LINE + 12,
  LABEL: LINE + 16,
  TRANSFER: LINE + 20,
  ERROR: LINE + 24,
  DATA: LINE + 32,
} as const;
export const SLOT_BYTES = 2 * LINE; // DATA ends at 224

export const SLOT_I32 = {
  MAGIC: SLOT.MAGIC / 4,
  SLOT_INDEX: SLOT.SLOT_INDEX / 4,
  GONE: SLOT.GONE / 4,
  CLOSED_FROM: SLOT.CLOSED_FROM / 4,
  STATE: SLOT.STATE / 4,
  SENDER_SLEEPING: SLOT.SENDER_SLEEPING / 4,
  SEQ: SLOT.SEQ / 4,
  LENGTH: SLOT.LENGTH / 4,
  LABEL: SLOT.LABEL / 4,
  TRANSFER: SLOT.TRANSFER / 4,
  ERROR: SLOT.ERROR / 4,
} as const;

/**
 * Values of STATE.
 *
 *   send:  free -(sender)-> SENT -(receiver takes it)-> DELIVERED
 *          (seL4 Send: returns once taken. DELIVERED, not IDLE: the kernel closes a free slot when its
 *          capability is revoked, and a sender must never mistake "taken, then revoked" for "refused")
 *   call:  free -(sender)-> CALLED -(receiver replies)-> REPLIED
 *          The receiver takes a call without writing the slot (the caller spins on this line: a write would
 *          cost a line transfer); it remembers the call, and answers it with a CAS CALLED -> REPLIED.
 *   "free" is IDLE or the end state of the sender's last message (DELIVERED, REPLIED, REFUSED): it stays until
 *   the next message, so the sender writes the state line once per message (as a ppcall leaves REPLIED).
 *   refused:   SENT | CALLED -(receiver, or the kernel for SENT)-> REFUSED (the sender reads ERROR)
 *   give up:   SENT -(sender)-> IDLE (withdrawn: a taken send is DELIVERED);
 *              CALLED -(sender)-> ABANDONED -(receiver: its reply is dropped, or it never took it)-> IDLE
 *   gone:      any -(kernel)-> CLOSED (terminal; GONE says why, CLOSED_FROM what STATE was: a message taken,
 *              answered or refused just before its endpoint closed ended so, and its sender reports that)
 *
 * After ABANDONED the slot stays the receiver's until it lets go (IDLE): a late reply can never land in a
 * later call. The kernel never refuses a CALLED slot (the receiver may have taken the call); on revoke the
 * receiver's guard check refuses it if it was not taken.
 */
export const SlotState = {
  IDLE: 0,
  SENT: 1,
  CALLED: 2,
  // 3 was TAKEN (the receiver marked a call taken); no longer written
  REPLIED: 4,
  REFUSED: 5,
  ABANDONED: 6,
  CLOSED: 7,
  DELIVERED: 8,
} as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

/** Values of GONE. */
export const SlotGone = {
  NO: 0,
  RECEIVER_DIED: 1,
  ENDPOINT_CLOSED: 2,
  CAPABILITY_REVOKED: 3,
  /** The receiver was restarted (docs/supervision.md): its endpoints closed with its old generation. */
  RECEIVER_RESTARTED: 4,
} as const;

/** Values of ERROR with REFUSED: why the receiver (or kernel) refused the message. */
export const Refusal = {
  NONE: 0,
  REVOKED: 1,
  RATE_LIMITED: 2,
  INVALID_MESSAGE: 3,
  SENDER_DEAD: 4,
  TRANSFER_INVALID: 5,
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

// ---------------------------------------------------------------------------------------------------------
// Queue slot: the sending capability of a bounded channel (`createChannel(capacity)`): the one SPSC ring of
// shm/ring.ts (the sender produces, the receiver consumes; `capacity` slots of 72 bytes, each message a u32 label
// and at most 64 bytes), with three words of its own in the ring header's free bytes. Shared by that sender, the
// receiver and the kernel. A send returns once its message is queued; the receiver takes entries in order,
// checking the guard before each (as for an endpoint slot), so a revoked capability's queued messages are never
// taken. Both sides take the geometry from the kernel (grant, mail), never from the header.
//
//  byte | field            | written by                                  | read by
//  -----+------------------+---------------------------------------------+-----------------------------------
//    0  | MAGIC            | kernel (the ring's, "isoR")                 | diagnostics
//    4  | CAPACITY         | kernel: entries, a power of two             | diagnostics (each side has its own)
//    8  | SLOT_BYTES       | kernel: 72                                  | diagnostics
//   12  | FLAGS            | the ring's (shm/ring.ts); the receiver sets | sender: a refused queue sends no more
//       |                  | ConsumerClosed when it refuses the queue    |
//   20  | PRODUCER_WAITING | sender, while it waits for room             | receiver: rings P_BELL only if 1
//   36  | PRODUCER_BELL    | receiver, after freeing; kernel, at GONE    | the sender sleeps on it
//   40  | GONE             | kernel (as for an endpoint slot)            | sender, before each send and wait
//   44  | THROTTLED        | receiver: 1 while it defers this queue for  | sender: a full queue is then
//       |                  | the rate limit, 0 when it takes again       | RateLimitExceeded, not QueueFull
//   48  | SLOT_INDEX       | kernel                                      | diagnostics
//  128  | HEAD             | sender: entries published (mod 2^32)        | receiver
//  256  | TAIL             | receiver: entries taken (mod 2^32)          | sender (room)
//  384  | ENTRIES          | entry i at 384 + (i mod CAPACITY) * 72: [u32 length = n][u32 label][n bytes]
//
// A receiver that finds a malformed entry (a length word out of range, HEAD more than CAPACITY ahead) refuses
// the queue as any ring consumer refuses a ring: nothing more is taken from it, and the sender's next send fails
// with `EndpointClosed`; a sender that finds TAIL ahead of HEAD fails with `InvalidMessage` — the same codes as
// an async channel's ends for the same hostile input (tests/ring.test.ts).
// Rate limits defer instead of refusing: an entry over the limit stays queued until the bucket refills, so no
// queued message is lost; the sender feels it as a full queue.
// ---------------------------------------------------------------------------------------------------------

export const QUEUE = {
  MAGIC: 0,
  CAPACITY: 4,
  SLOT_BYTES: 8,
  FLAGS: 12,
  PRODUCER_WAITING: 20,
  PRODUCER_BELL: 36,
  GONE: 40,
  THROTTLED: 44,
  SLOT_INDEX: 48,
  HEAD: LINE,
  TAIL: 2 * LINE,
  ENTRIES: 3 * LINE,
} as const;
export const QUEUE_ENTRY_BYTES = 8 + INLINE_BYTES;
export const QUEUE_I32 = {
  MAGIC: QUEUE.MAGIC / 4,
  CAPACITY: QUEUE.CAPACITY / 4,
  SLOT_BYTES: QUEUE.SLOT_BYTES / 4,
  FLAGS: QUEUE.FLAGS / 4,
  PRODUCER_WAITING: QUEUE.PRODUCER_WAITING / 4,
  PRODUCER_BELL: QUEUE.PRODUCER_BELL / 4,
  GONE: QUEUE.GONE / 4,
  THROTTLED: QUEUE.THROTTLED / 4,
  SLOT_INDEX: QUEUE.SLOT_INDEX / 4,
  HEAD: QUEUE.HEAD / 4,
  TAIL: QUEUE.TAIL / 4,
} as const;
/** Most entries one queue slot may have. */
export const MAX_QUEUE_CAPACITY = 4096;

export function queueBytes(capacity: number): number {
  return QUEUE.ENTRIES + capacity * QUEUE_ENTRY_BYTES;
}

/** Most sending slots one endpoint has at once (indices are reused once a slot's capability is gone). */
export const MAX_SLOTS = 1024;

export const GUARD = {
  STATUS: LINE,
} as const;
export const GUARD_BYTES = LINE + MAX_SLOTS * 4;
export const GUARD_I32 = {
  STATUS: GUARD.STATUS / 4,
} as const;

/** The state bits (0-2) of STATUS[i]; bits 3-31 are the slot's generation. */
export const SlotStatus = {
  UNUSED: 0,
  LIVE: 1,
  TAKING: 2,
  REVOKED: 3,
  SENDER_DEAD: 4,
} as const;
export const SLOT_STATUS_BITS = 3;
export const SLOT_STATUS_MASK = (1 << SLOT_STATUS_BITS) - 1;
/** Generations wrap within 29 bits (a record that old is long gone). */
export const SLOT_GENERATION_MASK = 0x1fff_ffff;

/** The STATUS word of slot generation `generation` in `state`. */
export function slotStatus(generation: number, state: number): number {
  return (((generation & SLOT_GENERATION_MASK) << SLOT_STATUS_BITS) | state) | 0;
}
