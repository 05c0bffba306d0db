/** System descriptions: the type, Microkit's rules, and the `.system` parser. Pure: no I/O but `loadSystemFile`. */

export { parseSystem, parseNumber, unsupportedFeatures } from "./parse.ts";
export type { ParseResult } from "./parse.ts";
export { checkSystem } from "./rules.ts";
export { loadSystemFile } from "./load.ts";
export { allProtectionDomains, defaults, limits } from "./description.ts";
export type * from "./description.ts";
