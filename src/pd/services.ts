/**
 * L4-style services (seed 004): a service is identified by a label and has a packed request and reply layout
 * of untyped words. The message is L4's: MR0 holds the `MsgTag` (label, untyped and typed word counts, flags),
 * MR1.. the words, in the order the layout names them. `defineService` gives a typed client stub (over a
 * protected call) and a handler that a server's dispatcher (`serveL4`) runs from `protected()`.
 *
 * Every register of a request is the caller's to choose, so the dispatcher reads them as untrusted input:
 * a request with an unknown label, the wrong number of words, typed words (a service takes none), or a word
 * above 2^53 - 1 gets an error reply (the tag's E flag, the refused label, and a code in MR1) — never silence
 * and never a fault of the server, which goes on serving the others. So does a request whose handler throws
 * or returns a reply that does not fit the layout. The client stub turns an error reply into a typed
 * `IpcError`, and checks the server's reply as strictly (label, counts, words). Words are given and returned
 * as numbers (safe integers); for wider words write a handler of your own over `getMrBig`.
 */

import { IpcError } from "../errors.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import { MsgTag, ServiceError } from "../protocol/msgtag.ts";
import { ALL_RIGHTS } from "../caps/index.ts";
import type { Capability } from "../ipc/capability.ts";
import type { Channel } from "./channel.ts";
import { grantCap } from "./endpoints.ts";
import { getMrBig, setMr } from "./registers.ts";

/**
 * Error code (MR1 of an error reply) for a request word above 2^53 - 1, which a service's words (numbers) cannot
 * hold. It extends `ServiceError` (1..3, src/protocol/msgtag.ts) and belongs there with them.
 */
export const BAD_WORD = 4;

/** Register `index` as a number, or -1 if it holds more than 2^53 - 1: the caller chose it, so it is no fault. */
function wordAt(index: number): number {
  const word = getMrBig(index);
  return word <= MAX_SAFE ? Number(word) : -1;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export type Words<Names extends readonly string[]> = { readonly [K in Names[number]]: number };

export interface ServiceDefinition<Req extends readonly string[], Rep extends readonly string[]> {
  /** For messages: the service's name. */
  readonly name: string;
  /** The label (48 bits) that identifies the service in MR0. */
  readonly label: number;
  /** The request's untyped words, in register order (MR1, MR2, ...). */
  readonly request: Req;
  /** The reply's untyped words, in register order. */
  readonly reply: Rep;
}

export interface Service<Req extends readonly string[], Rep extends readonly string[]> extends ServiceDefinition<Req, Rep> {
  /** A client stub: `call(request)` makes a protected call through `channel` and returns the reply's words. */
  client(channel: Channel): { call(request: Words<Req>): Words<Rep> };
  /** A handler for `serveL4`: runs `handle` for requests of this service. */
  handle(handle: (request: Words<Req>, channel: Channel) => Words<Rep>): ServiceHandler;
}

/** One service's part of a server's dispatcher. */
export interface ServiceHandler {
  readonly label: number;
  readonly name: string;
  /** Reads the request from MR1.., runs the handler, writes the reply words; returns how many. */
  dispatch(tag: MsgTag, channel: Channel): number;
}

export function defineService<const Req extends readonly string[], const Rep extends readonly string[]>(
  definition: ServiceDefinition<Req, Rep>,
): Service<Req, Rep> {
  const { name, label, request, reply } = definition;
  // Made once, here: this also checks the label and that both layouts fit the registers.
  const requestTag = new MsgTag({ label, untyped: request.length, typed: 0 }).encode();
  const replyTag = new MsgTag({ label, untyped: reply.length, typed: 0 }).encode();
  return {
    ...definition,
    client(channel) {
      const info = new MessageInfo(label, 1 + request.length);
      const tag = requestTag;
      return {
        call(values) {
          setMr(0, tag);
          request.forEach((field, i) => { setMr(1 + i, wordOf(values, field, name)); });
          const replied = channel.ppcall(info);
          // The server is another PD: its reply is checked as a request is. Registers past the reply's count
          // still hold this PD's own request, so a tag that claims more than was sent is refused, not read.
          const answer = replied.count === 0 ? undefined : MsgTag.decode(getMrBig(0));
          if (answer === undefined || answer.count !== replied.count || answer.label !== label) {
            throw badReply(name, `a reply of ${replied.count} registers with ${answer?.toString() ?? "no tag"}, not a reply to label 0x${label.toString(16)}`);
          }
          if (answer.error) {
            if (answer.untyped !== 1 || answer.typed !== 0) throw badReply(name, `an error reply with ${answer.toString()}`);
            throw serviceError(name, label, wordAt(1));
          }
          if (answer.untyped !== reply.length || answer.typed !== 0) throw badReply(name, `${answer.toString()}; the layout has ${reply.length} words`);
          const out: Record<string, number> = {};
          for (let i = 0; i < reply.length; i++) {
            const word = wordAt(1 + i);
            if (word < 0) throw badReply(name, `word '${reply[i]!}' is above 2^53 - 1: ${getMrBig(1 + i)}`);
            out[reply[i]!] = word;
          }
          return out as Words<Rep>;
        },
      };
    },
    handle(handler) {
      return {
        label,
        name,
        dispatch(tag, channel) {
          if (tag.untyped !== request.length || tag.typed !== 0) return errorReply(label, ServiceError.BAD_LENGTH);
          const values: Record<string, number> = {};
          for (let i = 0; i < request.length; i++) {
            const word = wordAt(1 + i);
            if (word < 0) return errorReply(label, BAD_WORD);
            values[request[i]!] = word;
          }
          // The reply is checked whole before a register is written: a handler that throws, or returns a word a
          // caller's request made too large, gets that caller an error reply, not a fault of the server.
          const words: number[] = [];
          try {
            const result = handler(values as Words<Req>, channel) as unknown;
            if (typeof result !== "object" || result === null) throw new TypeError("the handler returned no object");
            for (const field of reply) words.push(wordOf(result as Record<string, number>, field, name));
          } catch {
            return errorReply(label, ServiceError.HANDLER_FAILED);
          }
          for (let i = 0; i < words.length; i++) setMr(1 + i, words[i]!);
          setMr(0, replyTag);
          return 1 + reply.length;
        },
      };
    },
  };
}

/**
 * A server's dispatcher over several services, for `protected()`:
 * `protected(channel, info) { return dispatch(channel, info); }`. An unknown label gets an error reply.
 */
export function serveL4(...handlers: readonly ServiceHandler[]): (channel: Channel, info: MessageInfo) => MessageInfo {
  const byLabel = new Map<number, ServiceHandler>();
  for (const h of handlers) {
    if (byLabel.has(h.label)) throw new IpcError("InvalidArgument", `serveL4: services '${byLabel.get(h.label)!.name}' and '${h.name}' share label ${h.label}`, { operation: "serveL4" });
    byLabel.set(h.label, h);
  }
  return (channel, info) => {
    let tag: MsgTag;
    try {
      tag = info.count === 0 ? new MsgTag({ label: info.label, untyped: 0, typed: 0 }) : MsgTag.decode(getMrBig(0));
    } catch {
      return new MessageInfo(info.label, errorReply(info.label, ServiceError.BAD_LENGTH));
    }
    if (info.count !== tag.count) return new MessageInfo(tag.label, errorReply(tag.label, ServiceError.BAD_LENGTH));
    const handler = byLabel.get(tag.label);
    if (handler === undefined) return new MessageInfo(tag.label, errorReply(tag.label, ServiceError.UNKNOWN_LABEL));
    try {
      return new MessageInfo(tag.label, handler.dispatch(tag, channel));
    } catch {
      // A hand-made ServiceHandler that throws: still the caller's error, answered, not the server's fault.
      return new MessageInfo(tag.label, errorReply(tag.label, ServiceError.HANDLER_FAILED));
    }
  };
}

/** Writes an error reply (E flag, the refused label, the code in MR1); returns its register count. */
function errorReply(label: number, code: number): number {
  setMr(0, new MsgTag({ label: Math.min(label, 2 ** 48 - 1), untyped: 1, typed: 0, error: true }).encode());
  setMr(1, code);
  return 2;
}

function badReply(name: string, what: string): IpcError {
  return new IpcError("InvalidMessage", `${name}: the server sent ${what}`, { operation: name });
}

function serviceError(name: string, label: number, code: number): IpcError {
  const why =
    code === ServiceError.UNKNOWN_LABEL
      ? `the server has no service with label 0x${label.toString(16)}`
      : code === ServiceError.BAD_LENGTH
        ? "the server refused the request's length"
        : code === ServiceError.HANDLER_FAILED
          ? "the server's handler failed"
          : code === BAD_WORD
            ? "the server refused a request word above 2^53 - 1"
            : `error code ${code < 0 ? "above 2^53 - 1" : code}`;
  return new IpcError("InvalidMessage", `${name}: ${why}`, { operation: name });
}

function wordOf(values: Readonly<Record<string, number>>, field: string, service: string): number {
  const value = values[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new IpcError("InvalidArgument", `${service}: field '${field}' must be a non-negative safe integer, got ${String(value)}`, { operation: service });
  }
  return value;
}

// ---- typed items: regions mapped or granted in a message (L4's fpages) ---------------------------------------

export const TypedItemKind = { MAP: 1, GRANT: 2 } as const;

export interface RegionItem {
  /** `map`: the receiver gets a capability derived from the sender's; `grant`: the sender's moves to it. */
  readonly kind: "map" | "grant";
  /** The capability (in the receiving PD's space, once written) for the region. */
  readonly token: bigint;
  readonly offset: number;
  readonly size: number;
  /** The rights the receiver has on the region (RECEIVE reads, SEND writes). */
  readonly rights: number;
}

/**
 * Writes a typed item at register `index` (3 words) naming part of a region for PD `to`. The capability goes
 * through the kernel first (`grantCap`: rights never widen, `grant` moves it), so what the item names is a
 * token in the receiver's own space — an item cannot hand over anything the kernel did not install there.
 */
export function putRegionItem(
  index: number,
  item: { readonly kind: "map" | "grant"; readonly region: Capability; readonly to: string; readonly offset: number; readonly size: number; readonly rights: number },
): void {
  if (!Number.isInteger(item.offset) || !Number.isInteger(item.size) || item.offset < 0 || item.size < 0 || item.offset > 0xffff_ffff || item.size > 0xffff_ffff) {
    throw new IpcError("InvalidMemoryRegion", `putRegionItem: offset and size must be u32 (got ${item.offset}, ${item.size})`, { operation: "putRegionItem" });
  }
  const token = grantCap(item.region, item.to, item.rights, { move: item.kind === "grant" });
  setMr(index, TypedItemKind[item.kind === "map" ? "MAP" : "GRANT"] | (item.rights << 8));
  setMr(index + 1, token);
  setMr(index + 2, (BigInt(item.offset) << 32n) | BigInt(item.size));
}

/** Reads the typed item at register `index` (the receiver maps it with `mapRegion(capabilityFromToken(item.token))`). */
export function getRegionItem(index: number): RegionItem {
  if (!Number.isInteger(index) || index < 1 || index + 2 > 63) {
    throw new IpcError("InvalidArgument", `getRegionItem: a typed item's 3 registers start at 1..61, got ${String(index)}`, { operation: "getRegionItem" });
  }
  // The sender chose every bit: read as bigints, so no value can throw a RangeError or lose bits on the way.
  const head = getMrBig(index);
  const kind = Number(head & 0xffn);
  const rights = head >> 8n;
  if ((kind !== TypedItemKind.MAP && kind !== TypedItemKind.GRANT) || (rights & ~BigInt(ALL_RIGHTS)) !== 0n) {
    throw new IpcError("InvalidMessage", `getRegionItem: register ${index} holds no typed item (0x${head.toString(16)}: kind ${kind}, rights 0x${rights.toString(16)})`, {
      operation: "getRegionItem",
    });
  }
  const extent = getMrBig(index + 2);
  return {
    kind: kind === TypedItemKind.MAP ? "map" : "grant",
    token: getMrBig(index + 1),
    rights: Number(rights),
    offset: Number(extent >> 32n),
    size: Number(extent & 0xffff_ffffn),
  };
}
