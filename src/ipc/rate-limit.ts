/**
 * Rate limits, enforced by the receiver (where the limited sender cannot reach): two token buckets per
 * limited sender, one counting messages and one counting payload bytes, on the monotonic clock.
 *
 * What VeridianOS's limiter gets wrong, and this one does not: the buckets refill continuously (not in
 * whole-second steps), a burst of `burstMultiplier` seconds' worth is honoured, bytes are limited per second
 * (not per message), and the clock is monotonic (`performance.now()`), so a wall-clock jump changes nothing.
 */

import { IpcError } from "../errors.ts";
import type { RateLimits } from "../protocol/syscall.ts";

export type { RateLimits } from "../protocol/syscall.ts";

/** Checks untrusted limits (any value at all: a PD sends them in a syscall); returns a clean copy. */
export function validateRateLimits(limits: unknown, operation: string): RateLimits {
  const record: Partial<Record<keyof RateLimits, unknown>> = typeof limits === "object" && limits !== null ? limits : {};
  const { maxMessagesPerSec, maxBytesPerSec, burstMultiplier } = record;
  const ok = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n > 0;
  if (!ok(maxMessagesPerSec) || !ok(maxBytesPerSec) || !ok(burstMultiplier) || burstMultiplier < 1) {
    const show = (n: unknown): string => (typeof n === "number" ? String(n) : typeof n);
    throw new IpcError(
      "InvalidArgument",
      `${operation}: rate limits need positive finite numbers maxMessagesPerSec and maxBytesPerSec and a burstMultiplier of at least 1 (got ${show(maxMessagesPerSec)}, ${show(maxBytesPerSec)}, ${show(burstMultiplier)})`,
      { operation },
    );
  }
  return { maxMessagesPerSec, maxBytesPerSec, burstMultiplier };
}

/** One sender's pair of buckets. Full at creation: a sender may start with a whole burst. */
export class RateLimiter {
  readonly limits: RateLimits;
  private messages: number;
  private bytes: number;
  private last: number;

  constructor(limits: RateLimits, now: number = performance.now()) {
    this.limits = limits;
    this.messages = limits.maxMessagesPerSec * limits.burstMultiplier;
    this.bytes = limits.maxBytesPerSec * limits.burstMultiplier;
    this.last = now;
  }

  /**
   * Takes one message of `length` bytes if both buckets allow it; otherwise takes nothing and returns false.
   * A message larger than the byte bucket's depth is never allowed (it would need more than a burst).
   */
  tryTake(length: number, now: number = performance.now()): boolean {
    if (!this.allows(length, now)) return false;
    this.take(length);
    return true;
  }

  /** Refills to `now`, then says whether one message of `length` bytes would be allowed. Takes nothing. */
  allows(length: number, now: number = performance.now()): boolean {
    this.refill(now);
    return this.messages >= 1 && this.bytes >= length;
  }

  /** Takes one message of `length` bytes (after `allows` said yes). */
  take(length: number): void {
    this.messages -= 1;
    this.bytes -= length;
  }

  private refill(now: number): void {
    const elapsed = (now - this.last) / 1000;
    if (elapsed <= 0) return;
    this.last = now;
    const { maxMessagesPerSec, maxBytesPerSec, burstMultiplier } = this.limits;
    this.messages = Math.min(maxMessagesPerSec * burstMultiplier, this.messages + elapsed * maxMessagesPerSec);
    this.bytes = Math.min(maxBytesPerSec * burstMultiplier, this.bytes + elapsed * maxBytesPerSec);
  }
}
