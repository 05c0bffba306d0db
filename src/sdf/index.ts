/** System descriptions: the type, Microkit's rules, the `.system` parser and a summary. Pure: no I/O but `loadSystemFile`. */

export { parseSystem, unsupportedFeatures } from "./parse.ts";
export type { ParseOptions, ParseResult } from "./parse.ts";
export { ARCHES, CONFIG_KEYS, DEFAULT_KERNEL_CONFIG, kernelConfig, parseConfigSetting } from "./config.ts";
export type { Arch, KernelConfig, KernelConfigOverrides } from "./config.ts";
export { microkitText } from "./microkit.ts";
export { parseNumber, readDecimal, readNumber } from "./numbers.ts";
export type { NumberResult } from "./numbers.ts";
export { checkSystem } from "./rules.ts";
export { loadSystemFile, prefillSizer } from "./load.ts";
export type { LoadOptions } from "./load.ts";
export { formatSummary, summarizeSystem } from "./summary.ts";
export type { ChannelEndSummary, PdSummary, RegionSummary, SystemSummary } from "./summary.ts";
export { allProtectionDomains, defaults, limits } from "./description.ts";
export type * from "./description.ts";
