/**
 * L4-style services (seed 004): a service is identified by a label and has a packed request and reply layout
 * of untyped words. The message is L4's: MR0 holds the `MsgTag` (label, untyped and typed word counts, flags),
 * MR1.. the words, in the order the layout names them. `defineService` gives a typed client stub (over a
 * protected call) and a handler that a server's dispatcher (`serveL4`) runs from `protected()`.
 *
 * A request with an unknown label, or with the wrong number of words, gets an error reply (the tag's E flag,
 * the refused label, and a `ServiceError` code in MR1) — never silence; the client stub turns it into a typed
 * `IpcError`. Words are unsigned 64-bit registers, given and returned as numbers (safe integers; a word above
 * 2^53 - 1 throws when read — declare such a field and read it with `getMrBig` in a hand-written handler).
 */

import { IpcError } from "../errors.ts";
import { MessageInfo } from "../protocol/message-info.ts";
import { MsgTag, ServiceError } from "../protocol/msgtag.ts";
import type { Capability } from "../ipc/capability.ts";
import type { Channel } from "./channel.ts";
import { grantCap } from "./endpoints.ts";
import { getMr, getMrBig, setMr } from "./registers.ts";

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
          channel.ppcall(info);
          const answer = MsgTag.decode(getMrBig(0));
          if (answer.error) throw serviceError(name, label, getMr(1));
          if (answer.untyped !== reply.length) {
            throw new IpcError("InvalidMessage", `${name}: the reply has ${answer.untyped} words, the layout ${reply.length}`, { operation: name });
          }
          const out: Record<string, number> = {};
          reply.forEach((field, i) => (out[field] = getMr(1 + i)));
          return out as Words<Rep>;
        },
      };
    },
    handle(handler) {
      return {
        label,
        name,
        dispatch(tag, channel) {
          if (tag.untyped !== request.length) return errorReply(label, ServiceError.BAD_LENGTH);
          const values: Record<string, number> = {};
          request.forEach((field, i) => (values[field] = getMr(1 + i)));
          let result: Words<Rep>;
          try {
            result = handler(values as Words<Req>, channel);
          } catch {
            return errorReply(label, ServiceError.HANDLER_FAILED);
          }
          reply.forEach((field, i) => { setMr(1 + i, wordOf(result, field, name)); });
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
    if (info.count !== tag.count) return new MessageInfo(info.label, errorReply(tag.label, ServiceError.BAD_LENGTH));
    const handler = byLabel.get(tag.label);
    if (handler === undefined) return new MessageInfo(tag.label, errorReply(tag.label, ServiceError.UNKNOWN_LABEL));
    return new MessageInfo(tag.label, handler.dispatch(tag, channel));
  };
}

/** Writes an error reply (E flag, the refused label, the code in MR1); returns its register count. */
function errorReply(label: number, code: number): number {
  setMr(0, new MsgTag({ label: Math.min(label, 2 ** 48 - 1), untyped: 1, typed: 0, error: true }).encode());
  setMr(1, code);
  return 2;
}

function serviceError(name: string, label: number, code: number): IpcError {
  const why =
    code === ServiceError.UNKNOWN_LABEL
      ? `the server has no service with label 0x${label.toString(16)}`
      : code === ServiceError.BAD_LENGTH
        ? "the server refused the request's length"
        : code === ServiceError.HANDLER_FAILED
          ? "the server's handler failed"
          : `error code ${code}`;
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
  const head = getMr(index);
  const kind = head & 0xff;
  if (kind !== TypedItemKind.MAP && kind !== TypedItemKind.GRANT) {
    throw new IpcError("InvalidMessage", `getRegionItem: register ${index} holds no typed item (kind ${kind})`, { operation: "getRegionItem" });
  }
  const extent = getMrBig(index + 2);
  return {
    kind: kind === TypedItemKind.MAP ? "map" : "grant",
    token: getMrBig(index + 1),
    rights: head >> 8,
    offset: Number(extent >> 32n),
    size: Number(extent & 0xffff_ffffn),
  };
}
