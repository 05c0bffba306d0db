/** Capabilities: tokens (VeridianOS layout), rights and the kernel's capability spaces. */

export { Rights, ALL_RIGHTS, MAX_GENERATION, encodeToken, decodeToken, describeRights, isSubset } from "./token.ts";
export type { TokenFields } from "./token.ts";
export { CapabilityRegistry, DEFAULT_MAX_CAPABILITIES_PER_PD, DEFAULT_MAX_DERIVATION_DEPTH, DEFAULT_MAX_OBJECTS_PER_PD } from "./space.ts";
export type { CapabilityInfo, ObjectKind, RegistryLimits, RegistryOptions, RegistryStats, RemovalReason } from "./space.ts";
