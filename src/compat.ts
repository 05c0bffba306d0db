/**
 * `isokit/compat`: seed 002's system-call interface (the VeridianOS usage guide's `sys_*`), on 64-bit tokens
 * instead of handles. Each call maps onto the same implementation as isokit/endpoints; errors are thrown as
 * `IpcError`s (the seed's `Result::Err`). New code should use isokit/endpoints: this module keeps the seed's
 * names for code ported from it, and is where they stop.
 *
 * Migration table (seed 002 -> isokit):
 *
 *   sys_send(cap, msg, len)             send(capabilityFromToken(cap), msg)                 isokit/endpoints
 *   sys_receive(cap, buf, len)          receive(capability).data                            isokit/endpoints
 *   sys_call(cap, msg, len, reply)      call(capability, msg).data                          isokit/endpoints
 *   sys_reply(cap, msg, len)            reply(received.reply, msg)                          isokit/endpoints
 *   sys_create_channel(slots)           createChannel(slots) -> { send, receive }           isokit/endpoints
 *   sys_create_endpoint()               createEndpoint() -> { id, cap }                     isokit/endpoints
 *   sys_close(cap)                      capability.close()  (or `using`)                    isokit/endpoints
 *   sys_grant_cap(cap, pid, perms)      grantCap(capability, pidOrName, rights)             isokit/endpoints
 *   sys_revoke_cap(cap)                 capability.revoke()                                 isokit/endpoints
 *   ipc::create_endpoint()              createEndpoint()                                    isokit/endpoints
 *   ipc::create_channel(n)              createChannel(n)                                    isokit/endpoints
 *   cap.derive(perms) / Permission::*   cap.derive(rights, { badge, rateLimits })           isokit/endpoints
 *   ipc::get_performance_stats()        getPerformanceStats()                               isokit/endpoints
 *   AsyncChannel::create(n)             boot(..., { asyncChannels }) + asyncProducer(name)  isokit/streams
 *   SharedRegion::new(size, perms)      createRegion(size) -> { cap, region }               isokit/regions
 *   region.create_capability(pid, ..)   grantCap(cap, pid, Rights.SEND | ...)               isokit/endpoints
 *   SharedRegion::map(cap)              mapRegion(cap)                                      isokit/regions
 *
 * The buffers are Uint8Arrays: `sys_receive` and `sys_call` copy the message into the buffer given and return
 * its length (`MessageTooLarge` if it does not fit); `sys_reply` answers the last call received with
 * `sys_receive` on the same token.
 */

export {
  sys_send,
  sys_receive,
  sys_call,
  sys_reply,
  sys_create_channel,
  sys_create_endpoint,
  sys_close,
  sys_grant_cap,
  sys_revoke_cap,
} from "./pd/syscalls.ts";
