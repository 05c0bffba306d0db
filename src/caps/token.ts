/**
 * The capability token a program holds: VeridianOS's 64-bit layout (seed 003), as a bigint.
 *
 *   bits  0..31  object id (an endpoint, channel end or region, numbered by the kernel)
 *   bits 32..47  generation
 *   bits 48..63  rights (SEND=1, RECEIVE=2, GRANT=4, REVOKE=8; other bits must be 0)
 *
 * A token is only a name: it grants nothing by itself. The kernel looks it up in the holder's own capability
 * space (caps/space.ts), so a token guessed, copied from another PD or kept after a revoke names nothing.
 *
 * Generations here are per (holder's space, object), not per object: every capability issued into a space
 * for an object takes that space's next generation for it, so two capabilities in one space never share a
 * token, and a dead token is never issued again in that space. That is all uniqueness has to give, because a
 * token is only ever looked up in its holder's own space: the same 64-bit value held by two PDs names two
 * different capabilities (or one in each), and a move re-issues the capability under the receiver's counter.
 * When a space has used all 65,535 generations of an object it can be given no new capability to that object
 * (OutOfMemory, for that PD alone: a client that derives in a loop uses up its own generations, never the
 * server's), rather than wrapping as VeridianOS does — a wrapped generation would make a stale token valid
 * again. Only a kernel-internal space, whose tokens no PD ever sees, wraps (skipping live tokens).
 */

export const Rights = {
  SEND: 1,
  RECEIVE: 2,
  GRANT: 4,
  REVOKE: 8,
} as const;
export type Rights = number;

export const ALL_RIGHTS = Rights.SEND | Rights.RECEIVE | Rights.GRANT | Rights.REVOKE;
/** The largest generation a capability can have; generation 0 is never issued. */
export const MAX_GENERATION = 0xffff;

export interface TokenFields {
  readonly object: number;
  readonly generation: number;
  readonly rights: Rights;
}

export function encodeToken(fields: TokenFields): bigint {
  return (BigInt(fields.rights) << 48n) | (BigInt(fields.generation) << 32n) | BigInt(fields.object);
}

/** Splits a 64-bit value into the token fields; `undefined` if it is not a well-formed token. */
export function decodeToken(token: bigint): TokenFields | undefined {
  if (typeof token !== "bigint" || token < 0n || token >= 1n << 64n) return undefined;
  const object = Number(token & 0xffff_ffffn);
  const generation = Number((token >> 32n) & 0xffffn);
  const rights = Number(token >> 48n);
  if ((rights & ~ALL_RIGHTS) !== 0 || generation === 0) return undefined;
  return { object, generation, rights };
}

/** `SEND|GRANT`-style text for messages. */
export function describeRights(rights: Rights): string {
  const names = (Object.keys(Rights) as (keyof typeof Rights)[]).filter((name) => (rights & Rights[name]) !== 0);
  return names.length === 0 ? "none" : names.join("|");
}

export function isSubset(rights: Rights, of: Rights): boolean {
  return (rights & ~of) === 0;
}
