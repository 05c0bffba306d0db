// Codecs for values a fixed layout does not fit.
export { encodeValue, decodeValue, DEFAULT_MAX_BYTES } from "./msgpack.ts";
export type { CodecLimits } from "./msgpack.ts";
export { writeCapnp, readCapnp, capnpBytes, CAPNP_HEADER_BYTES, MAX_SEGMENTS } from "./capnp.ts";
