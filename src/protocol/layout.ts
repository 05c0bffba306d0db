/**
 * The shared-memory ABI: every offset, state value and size of the buffers PDs share, in one place.
 * Mirrored, table for table, in docs/protocol.md — change both together (tests/protocol-doc.test.ts compares
 * every offset, word index and value there with the constants here).
 *
 * All multi-byte values are little-endian (the runtime refuses to start on a big-endian host, see
 * `assertLittleEndian`). Offsets are byte offsets; the `I32_*` constants are the same offsets divided by 4,
 * for `Int32Array` views. Lines are 128 bytes apart: two 64-byte cache lines, because x86's adjacent-line
 * prefetcher pairs lines and would otherwise make neighbours false-share.
 */

/** Bytes between independently written words. */
export const LINE = 128;

/** Message registers per message: Microkit's promised 64 (seL4 has 120; see message-info.ts). */
export const MR_COUNT = 64;
/** Bytes of message registers: 64 words of 8 bytes. */
export const MR_BYTES = MR_COUNT * 8;

// ---------------------------------------------------------------------------------------------------------
// Channel buffer: one per channel, shared by exactly the two PDs at its ends (and the kernel).
//
//  byte  | field             | written by                          | read by
//  ------+-------------------+-------------------------------------+------------------------------
//    0   | MAGIC             | kernel, at creation                 | runtime (sanity check)
//    4   | CHANNEL_TAG       | kernel, at creation                 | tests / diagnostics
//    8   | END0_DEAD         | kernel (and end 0's own runtime)    | end 1, before and while calling
//   12   | END1_DEAD         | kernel (and end 1's own runtime)    | end 0
//        |                   | (values: EndDead; the kernel alone  |
//        |                   |  sets RESTARTING and clears it)     |
//  128   | CALL_STATE        | caller: IDLE/REPLIED->CALLED        | both
//        |                   | callee: CALLED->REPLIED             |
//        |                   | kernel: CALLED->CALLEE_DIED         |
//        |                   | (every transition: CallState below) |
//  132   | CALLER_SLEEPING   | caller (1 while in Atomics.wait)    | callee / kernel: notify only if 1
//  136   | MSG_COUNT (u32)   | caller (request), callee (reply)    | the other side, after CALL_STATE
//  140   | MSG_LABEL_LO (u32)|   "                                 |   "
//  144   | MSG_LABEL_HI (u32)|   label = HI * 2^32 + LO, HI < 2^20 |   "
//  152   | MRS (64 x u64)    |   "  only `count` words are written |   "  only `count` words are read
//  768   | NOTIFY_TO_END0    | end 1: notifications sent to end 0  | end 0 (a change = pending)
//        |                   |   (a count mod 2^32)                |
//  772   | NOTIFY_SEEN_BY_END1 | end 1: the NOTIFY_TO_END1 count   | the kernel's quiescence check
//        |                   |   it has taken, stored before sleeping |
//  896   | NOTIFY_TO_END1    | end 0: notifications sent to end 1  | end 1
//  900   | NOTIFY_SEEN_BY_END0 | end 0, as above                   | the kernel
//
// The call state, the tag and the first five registers share one 64-byte cache line (128..191): a small
// call moves that one line to the callee and back, which is the floor of a round trip between two cores.
// The notification words sit on lines of their own: a spinning receiver polls them, and a line nobody
// writes stays in its cache for free. Each of those lines has one writer: a notification is a count the sender
// alone moves and the receiver compares with its own private copy, so taking a notification writes nothing
// (a flag the receiver swapped back to 0 moved the line twice more per notification). Several notifications
// before the receiver looks are seen once: they coalesce. The receiver publishes the count it has taken only
// when it goes to sleep, on its own line, for the kernel's quiescence check.
//
// A channel carries protected calls in at most one direction (the `pp` end calls), so request and reply
// share one message area: the callee writes its reply only after reading the request, and the caller reads
// the reply only after CALL_STATE says REPLIED. Each side copies the message into its own private IPC buffer,
// so a peer that keeps scribbling on the shared area cannot change what the other side already read.
// ---------------------------------------------------------------------------------------------------------

export const CHANNEL_MAGIC = 0x43_6f_73_69; // "isoC" read as bytes
export const CHANNEL = {
  MAGIC: 0,
  TAG: 4,
  END0_DEAD: 8,
  END1_DEAD: 12,
  CALL_STATE: LINE,
  CALLER_SLEEPING: LINE + 4,
  MSG_COUNT: LINE + 8,
  MSG_LABEL_LO: LINE + 12,
  MSG_LABEL_HI: LINE + 16,
  MRS: LINE + 24,
  NOTIFY_TO_END0: 6 * LINE,
  NOTIFY_SEEN_BY_END1: 6 * LINE + 4,
  NOTIFY_TO_END1: 7 * LINE,
  NOTIFY_SEEN_BY_END0: 7 * LINE + 4,
} as const;
export const CHANNEL_BYTES = 8 * LINE; // 1024; MRS end at 664

/** Int32 indices of the channel words that are used with `Atomics`. */
export const CHANNEL_I32 = {
  MAGIC: CHANNEL.MAGIC / 4,
  TAG: CHANNEL.TAG / 4,
  END0_DEAD: CHANNEL.END0_DEAD / 4,
  END1_DEAD: CHANNEL.END1_DEAD / 4,
  CALL_STATE: CHANNEL.CALL_STATE / 4,
  CALLER_SLEEPING: CHANNEL.CALLER_SLEEPING / 4,
  NOTIFY_TO_END0: CHANNEL.NOTIFY_TO_END0 / 4,
  NOTIFY_SEEN_BY_END1: CHANNEL.NOTIFY_SEEN_BY_END1 / 4,
  NOTIFY_TO_END1: CHANNEL.NOTIFY_TO_END1 / 4,
  NOTIFY_SEEN_BY_END0: CHANNEL.NOTIFY_SEEN_BY_END0 / 4,
  MSG_COUNT: CHANNEL.MSG_COUNT / 4,
  MSG_LABEL_LO: CHANNEL.MSG_LABEL_LO / 4,
  MSG_LABEL_HI: CHANNEL.MSG_LABEL_HI / 4,
} as const;

/** Values of END0_DEAD / END1_DEAD. RESTARTING: the kernel is starting a new generation of that end's PD. */
export const EndDead = {
  ALIVE: 0,
  DEAD: 1,
  RESTARTING: 2,
} as const;

/**
 * Values of CALL_STATE. A call is IDLE or REPLIED -> CALLED -> REPLIED (REPLIED stays until the next call, so
 * the caller writes the line once per call). CALLEE_DIED is terminal for the callee's generation (the kernel
 * sets IDLE when it starts the next one).
 * CALLEE_FAULTED (the callee threw, and its parent's fault() let it resume) ends one call: the caller gets an
 * error and sets IDLE, and the channel serves the next call.
 */
export const CallState = {
  IDLE: 0,
  CALLED: 1,
  REPLIED: 2,
  CALLEE_DIED: 3,
  CALLEE_FAULTED: 4,
  /**
   * The callee was restarted while the call was in flight (kernel: CALLED -> CALLEE_RESTARTED); as
   * CALLEE_FAULTED, the caller gets an error (`PeerRestarted`) and sets IDLE.
   */
  CALLEE_RESTARTED: 5,
} as const;
export type CallState = (typeof CallState)[keyof typeof CallState];

// ---------------------------------------------------------------------------------------------------------
// Doorbell: one per PD. The PD sleeps on RING; every peer it shares a channel with (and the kernel) may ring.
//
//  byte | field    | written by                               | read by
//  -----+----------+------------------------------------------+-----------------------------------------
//    0  | RING     | ringers set 1, only if SLEEPING is 1;    | the PD: sleeps while 0
//       |          | the PD sets 0 before it decides to sleep |
//    4  | SLEEPING | the PD (1 from just before its last scan | ringers, after publishing an event in
//       |          | until it wakes)                          | the channel buffer
//
// A PD that is awake polls its channel buffers directly (spinning, then scanning after every wake-up), so
// on the hot path nobody writes the doorbell: a ringer only reads SLEEPING (a line that stays in its cache)
// and writes RING and calls Atomics.notify only when the PD really sleeps.
//
// The doorbell is only a wake-up hint. What happened is always read from the channel buffers, which only the
// two ends hold, so a peer that rings falsely or clears RING causes at most a spurious scan or a late wake-up,
// bounded by the sleep slice (see shm/wait.ts) — never a forged or lost event.
// ---------------------------------------------------------------------------------------------------------

export const DOORBELL = {
  RING: 0,
  SLEEPING: 4,
} as const;
export const DOORBELL_BYTES = LINE;
export const DOORBELL_I32 = {
  RING: DOORBELL.RING / 4,
  SLEEPING: DOORBELL.SLEEPING / 4,
} as const;

// ---------------------------------------------------------------------------------------------------------
// Control: one per PD, shared only between the PD and the kernel (no peer holds it).
//
//  byte | field | written by                                 | read by
//  -----+-------+--------------------------------------------+-------------------------------------------
//    0  | STOP  | kernel: 1 = leave the loop                 | the PD, after every wake-up and sleep slice
//  128  | IDLE  | the PD: 1 while it waits with nothing left | the kernel's quiescence check
//       |       | to do, 0 while it runs                     |
//  256  | VERDICT        | PD (child): 0 before it reports a fault;   | the faulted child, waiting
//       |                | kernel: 1 resume / 2 stop / 3 restart      |
//  260  | VERDICT_SLEEPING | the child, while it waits                | the kernel: notify only if 1
//  384  | CHILD_FAULT    | kernel: child id + 1 (0 = none); the PD    | the PD (parent), in its scan
//       |                | (parent) sets 0 after fault() returned     |
//  388  | CHILD_LABEL    | kernel: the fault's label                  | the parent
//  392  | CHILD_VERDICT  | parent: 1 resume / 2 stop / 3 restart      | the kernel (waitAsync)
//  512  | SYSCALL_DONE   | kernel: the seq of the last syscall it      | the PD, waiting for its syscall's reply
//       |                | answered (the reply is on the PD's port)    |
//  516  | SYSCALL_SLEEPING | the PD, while it waits                    | the kernel: notify only if 1
//  520  | MAIL           | kernel: +1 per delivery posted on the PD's  | the PD: drains its port when it changed
//       |                | port (a new sender slot, a granted cap)     |
//  524  | SYSCALL_REQ    | PD: the seq of the syscall it just posted   | the kernel: reads the PD's port only
//       |                | (then it bumps the kernel bell)             | when it changed (untrusted: a hint)
//  640  | ENTRY          | PD: +1 when an entry point starts and +1   | the kernel's watchdog (kernel/watchdog.ts):
//       |                | when it returns (odd = inside one); plain   | an odd ENTRY that does not move is timed
//       |                | stores of the PD's own count: the line stays |
//       |                | in the PD's cache between watchdog ticks     |
//  644  | SLEEPS         | PD: +1 before every sleep slice of an       | the watchdog: a PD that sleeps is blocked,
//       |                | endpoint or syscall wait                    | not running (untrusted: see watchdog.ts)
// Faults travel only through this buffer, which no peer holds: a child cannot forge a verdict, and a PD
// cannot forge a fault of another.
// IDLE is on its own line, away from the doorbell: the PD writes it around every sleep, and on the doorbell's
// line it would bounce that line between the PD and its ringers.
// ---------------------------------------------------------------------------------------------------------

export const CONTROL = {
  STOP: 0,
  IDLE: LINE,
  VERDICT: 2 * LINE,
  VERDICT_SLEEPING: 2 * LINE + 4,
  CHILD_FAULT: 3 * LINE,
  CHILD_LABEL: 3 * LINE + 4,
  CHILD_VERDICT: 3 * LINE + 8,
  SYSCALL_DONE: 4 * LINE,
  SYSCALL_SLEEPING: 4 * LINE + 4,
  MAIL: 4 * LINE + 8,
  SYSCALL_REQ: 4 * LINE + 12,
  ENTRY: 5 * LINE,
  SLEEPS: 5 * LINE + 4,
} as const;
export const CONTROL_BYTES = 6 * LINE;
export const CONTROL_I32 = {
  STOP: CONTROL.STOP / 4,
  IDLE: CONTROL.IDLE / 4,
  VERDICT: CONTROL.VERDICT / 4,
  VERDICT_SLEEPING: CONTROL.VERDICT_SLEEPING / 4,
  CHILD_FAULT: CONTROL.CHILD_FAULT / 4,
  CHILD_LABEL: CONTROL.CHILD_LABEL / 4,
  CHILD_VERDICT: CONTROL.CHILD_VERDICT / 4,
  SYSCALL_DONE: CONTROL.SYSCALL_DONE / 4,
  SYSCALL_SLEEPING: CONTROL.SYSCALL_SLEEPING / 4,
  MAIL: CONTROL.MAIL / 4,
  SYSCALL_REQ: CONTROL.SYSCALL_REQ / 4,
  ENTRY: CONTROL.ENTRY / 4,
  SLEEPS: CONTROL.SLEEPS / 4,
} as const;

/** Values of VERDICT / CHILD_VERDICT. */
export const Verdict = {
  PENDING: 0,
  RESUME: 1,
  STOP: 2,
  /** Parent only (CHILD_VERDICT): stop the child and start it again as a new generation (`microkit_pd_restart`). */
  RESTART: 3,
} as const;

/**
 * The label of the MessageInfo a parent's `fault(child, msgInfo)` receives. seL4 puts the fault type there
 * (VM fault, user exception, ...); a JS PD has one kind of fault: it threw out of an entry point.
 */
export const FaultLabel = {
  ENTRY_POINT_THREW: 1,
  /** The kernel's watchdog stopped the child: it ran in one entry point past its budget (kernel/watchdog.ts). */
  WATCHDOG: 2,
  /** The child's worker ran out of heap (`Limits.heapMbPerPd`). */
  OUT_OF_MEMORY: 3,
} as const;

/**
 * The kernel bell: one word for the whole system, which every PD bumps (`Atomics.add`, then `Atomics.notify`)
 * after posting a syscall on its port; the kernel sleeps on it with `Atomics.waitAsync` and then reads the
 * ports whose SYSCALL_REQ moved, one request per PD per turn. Any PD can ring it: a false ring costs the
 * kernel one look at every PD's SYSCALL_REQ word, never a syscall it did not make.
 */
export const KERNEL_BELL_BYTES = LINE;
export const KERNEL_BELL_I32 = { BELL: 0 } as const;

export function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("isokit: the shared-memory protocol is little-endian; this host is big-endian");
  }
}
