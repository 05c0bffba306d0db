/**
 * `isokit/codecs`: values a fixed layout does not fit. `encodeValue`/`decodeValue` are MessagePack with size
 * limits and typed errors (a hostile peer's bytes decode to an `IpcError`, never to a crash or a huge
 * allocation); `writeCapnp`/`readCapnp` put a Cap'n Proto message (capnp-es) in a region with its standard
 * framing, so it travels by (offset, length).
 */

export { encodeValue, decodeValue, DEFAULT_MAX_BYTES, writeCapnp, readCapnp, capnpBytes, CAPNP_HEADER_BYTES, MAX_SEGMENTS } from "./codec/index.ts";
export type { CodecLimits } from "./codec/index.ts";
