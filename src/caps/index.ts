/** Capabilities: tokens (VeridianOS layout), rights and the kernel's capability spaces. */

export { Rights, ALL_RIGHTS, MAX_GENERATION, encodeToken, decodeToken, describeRights, isSubset } from "./token.ts";
export type { TokenFields } from "./token.ts";
export { CapabilityRegistry } from "./space.ts";
export type { CapabilityInfo, ObjectKind, RegistryStats } from "./space.ts";
