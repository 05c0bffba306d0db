/** System descriptions: the type, Microkit's rules, the `.system` parser and a summary. Pure: no I/O but `loadSystemFile`. */

export { parseSystem, unsupportedFeatures } from "./parse.ts";
export type { ParseResult } from "./parse.ts";
export { parseNumber, readDecimal, readNumber } from "./numbers.ts";
export type { NumberResult } from "./numbers.ts";
export { checkSystem } from "./rules.ts";
export { loadSystemFile } from "./load.ts";
export { formatSummary, summarizeSystem } from "./summary.ts";
export type { ChannelEndSummary, PdSummary, RegionSummary, SystemSummary } from "./summary.ts";
export { allProtectionDomains, defaults, limits } from "./description.ts";
export type * from "./description.ts";
