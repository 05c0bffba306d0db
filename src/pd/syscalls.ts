/**
 * Seed 002's system calls on tokens (bigint): each maps onto the same IpcClient operation as the handle API
 * (pd/endpoints.ts). Exported as `isokit/compat`, whose doc comment holds the migration table.
 */

import { IpcError } from "../errors.ts";
import type { IpcClient, ReplyCapability } from "../ipc/client.ts";
import { currentPd } from "./context.ts";

/** Reply capabilities of calls received through the syscall interface, by the receiving token. */
const pendingReplies = new WeakMap<IpcClient, Map<bigint, ReplyCapability>>();

function client(operation: string): IpcClient {
  return currentPd(operation).ipcClient(operation);
}

function copyInto(operation: string, data: Uint8Array, buffer: Uint8Array): number {
  if (data.length > buffer.length) {
    throw new IpcError("MessageTooLarge", `${operation}: the message has ${data.length} bytes, the buffer ${buffer.length}`, { operation });
  }
  buffer.set(data);
  return data.length;
}

export function sys_send(cap: bigint, msg: Uint8Array): void {
  const c = client("sys_send");
  c.send(c.capability(cap), msg);
}

export function sys_receive(cap: bigint, buf: Uint8Array): number {
  const c = client("sys_receive");
  const message = c.receive(c.capability(cap));
  if (message.reply !== undefined) {
    let map = pendingReplies.get(c);
    if (map === undefined) pendingReplies.set(c, (map = new Map<bigint, ReplyCapability>()));
    map.set(cap, message.reply);
  }
  return copyInto("sys_receive", message.data, buf);
}

export function sys_call(cap: bigint, msg: Uint8Array, reply: Uint8Array): number {
  const c = client("sys_call");
  return copyInto("sys_call", c.call(c.capability(cap), msg).data, reply);
}

/** Answers the last call received with `sys_receive(cap, ...)`. */
export function sys_reply(cap: bigint, msg: Uint8Array): void {
  const c = client("sys_reply");
  const to = pendingReplies.get(c)?.get(cap);
  if (to === undefined) {
    throw new IpcError("InvalidCapability", `sys_reply: no call received through 0x${cap.toString(16)} is waiting for a reply`, { operation: "sys_reply", capability: cap });
  }
  pendingReplies.get(c)!.delete(cap);
  c.reply(to, msg);
}

/** A bounded channel: `[send, receive]` tokens; each sender gets a queue of `slots` messages. */
export function sys_create_channel(slots: number): [bigint, bigint] {
  const { send, receive } = client("sys_create_channel").createChannel(slots);
  return [send.token, receive.token];
}

export function sys_create_endpoint(): [number, bigint] {
  const { id, cap } = client("sys_create_endpoint").createEndpoint();
  return [id, cap.token];
}

export function sys_close(cap: bigint): void {
  const c = client("sys_close");
  c.capability(cap).close();
}

export function sys_grant_cap(cap: bigint, target_pid: number, perms: number): bigint {
  const c = client("sys_grant_cap");
  return c.grantCapability(c.capability(cap), target_pid, perms);
}

export function sys_revoke_cap(cap: bigint): void {
  const c = client("sys_revoke_cap");
  c.capability(cap).revoke();
}
