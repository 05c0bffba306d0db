/**
 * A PD program: `export default protectionDomain({ init, notified, protected, fault })`.
 *
 * One method per entry point (rust-sel4's `Handler` trait, Microkit's `init`/`notified`/`protected`/`fault`);
 * the runtime owns the loop and runs them one at a time. An entry point the program does not define fails
 * loudly when it is needed, naming the input it could not handle, instead of dropping it.
 */

import type { MessageInfo } from "../protocol/message-info.ts";
import type { Channel, ChannelSet } from "./channel.ts";

/** A child PD, as its parent's `fault` sees it: the `id` the system description gave it (0..61). */
export class Child {
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
  toString(): string {
    return `Child(${this.index})`;
  }
}

export interface Handler {
  /** Runs once, when the system boots, before any other entry point of this PD. */
  init?(): void;
  /** Runs when one or more channels were notified; they coalesce into one set. */
  notified?(channels: ChannelSet): void;
  /** Serves a protected call on `channel`; the caller's registers are readable with `getMr`. */
  protected?(channel: Channel, msgInfo: MessageInfo): MessageInfo;
  /**
   * Runs in a parent when its child PD faults (throws out of an entry point, or the kernel faulted it: over its
   * watchdog budget or its heap). Return true to let the child go on serving, false to stop it, `"restart"` to
   * start it again as a new generation (Microkit's `microkit_pd_restart`; workers mode, see docs/supervision.md).
   */
  fault?(child: Child, msgInfo: MessageInfo): FaultVerdict;
}

/** What a parent's `fault()` decides for its child: true resume, false stop, `"restart"` restart. */
export type FaultVerdict = boolean | "restart";

const PROGRAM = Symbol.for("isokit.protectionDomain");

/** How a PD program wants to run, next to its entry points. */
export interface ProgramOptions {
  /**
   * `sync` (default): the PD's loop blocks its worker thread between events — the fastest wake-ups, but the
   * worker's event loop never runs, so no timers, I/O or promise callbacks.
   * `async`: the loop sleeps with `Atomics.waitAsync`, so timers, I/O and promises keep working.
   */
  readonly wait?: "sync" | "async";
}

/** What `protectionDomain()` returns; the default export of a PD module. */
export interface ProtectionDomainProgram {
  readonly [PROGRAM]: true;
  readonly handler: Handler;
  readonly options: ProgramOptions;
}

/**
 * Declares a PD program. `this` inside the entry points is the object passed in, so a program may keep its
 * state on it:
 *
 * ```ts
 * export default protectionDomain({
 *   calls: 0,
 *   protected(channel, info) { this.calls++; return new MessageInfo(0, 0); },
 * });
 * ```
 */
export function protectionDomain<T extends Handler>(handler: T & ThisType<T>, options: ProgramOptions = {}): ProtectionDomainProgram {
  return { [PROGRAM]: true, handler, options };
}

/** Recognises a program made by any copy of this module (the brand is a registered symbol). */
export function isProtectionDomainProgram(value: unknown): value is ProtectionDomainProgram {
  return typeof value === "object" && value !== null && (value as Partial<ProtectionDomainProgram>)[PROGRAM] === true;
}
