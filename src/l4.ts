/**
 * `isokit/l4`: L4's message tag (`MsgTag`: label, untyped and typed word counts, flags) and services
 * identified by labels with packed request/reply words: `defineService` gives a typed client stub and a
 * handler, `serveL4` turns handlers into a `protected()` entry point that answers unknown labels with an error
 * reply. Typed items carry region grants.
 */

export { MsgTag, MsgTagFlag, MAX_TAG_LABEL, ServiceError } from "./protocol/msgtag.ts";
export type { MsgTagFields } from "./protocol/msgtag.ts";
export { defineService, serveL4, putRegionItem, getRegionItem, TypedItemKind } from "./pd/services.ts";
export type { Service, ServiceDefinition, ServiceHandler, Words, RegionItem } from "./pd/services.ts";
