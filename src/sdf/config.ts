/**
 * The seL4 kernel configuration a `.system` file is checked against. Microkit reads it from the SDK's kernel
 * build; `isokit check` has no kernel build, so it takes the architecture (`--arch`) and the few fields the
 * rules depend on (`--config key=value`), with defaults that are the ones Microkit's own tool test suite uses
 * (`DEFAULT_AARCH64_KERNEL_CONFIG` / `DEFAULT_X86_64_KERNEL_CONFIG` in tool/microkit/tests/test.rs).
 *
 * Only rules of the description depend on it (which `<irq>` kinds exist, how many CPU cores `cpu` may name,
 * whether `<virtual_machine>` and `<io_address_space>` are allowed, the domain scheduler's sizes, the highest
 * mappable address). `isokit run` ignores it: worker threads are not an seL4 kernel.
 */

export type Arch = "aarch64" | "riscv64" | "x86_64";

export const ARCHES: readonly Arch[] = ["aarch64", "riscv64", "x86_64"];

export interface KernelConfig {
  readonly arch: Arch;
  /** `KernelMaxNumNodes`: a PD's or vCPU's `cpu` must be below it; above 1 there is no domain scheduler. */
  readonly numCores: number;
  /** Built with IOMMU support: `<io_address_space>` is allowed. */
  readonly iommu: boolean;
  /** Built as a hypervisor: `<virtual_machine>` is allowed. */
  readonly hypervisor: boolean;
  /** `KernelNumDomains`. */
  readonly numDomains: number;
  /** `KernelNumDomainSchedules`. */
  readonly numDomainSchedules: number;
}

export type KernelConfigOverrides = Partial<KernelConfig>;

const SUITE_DEFAULTS: Omit<KernelConfig, "arch"> = {
  numCores: 1,
  iommu: true,
  hypervisor: true,
  numDomains: 16,
  numDomainSchedules: 100,
};

/** The suite's default configuration for `arch`, with `overrides` applied (an override may change `arch`). */
export function kernelConfig(arch: Arch = "aarch64", overrides: KernelConfigOverrides = {}): KernelConfig {
  return { arch, ...SUITE_DEFAULTS, ...overrides };
}

export const DEFAULT_KERNEL_CONFIG: KernelConfig = kernelConfig();

/**
 * The first address past a PD's or VM's user address space: AArch64 with a 40-bit physical address space
 * (the suite's `arm_pa_size_bits: 40`, hypervisor mode), x86-64 with 4-level paging, RISC-V Sv39.
 */
export function userTop(config: KernelConfig): number {
  switch (config.arch) {
    case "aarch64":
      return 2 ** 40;
    case "x86_64":
      return 2 ** 47;
    case "riscv64":
      return 2 ** 38;
  }
}

/**
 * A PD's maps must lie below its stack and IPC buffer: Microkit places the stack at the top of the address
 * space, under a guard page, with the IPC buffer and a further guard page above it (three pages plus the
 * stack; the suite's `vaddr (0x1000000000000000) must be less than 0xffffffc000` for a one-page stack).
 */
export function pdMaxVaddr(config: KernelConfig, stackSize: number): number {
  return userTop(config) - 3 * 0x1000 - stackSize;
}

/** A virtual machine's guest-physical maps may use the whole address space. */
export function vmMaxVaddr(config: KernelConfig): number {
  return userTop(config);
}

/** x86 IOMMU page tables: three levels of 9 bits over 4 KiB pages, so I/O addresses stop at 2^39. */
export const IO_VADDR_LIMIT = 2 ** 39;

/** x86 interrupt vectors a PD may claim (Microkit's `X86_IRQ_VECTOR_MAX`). */
export const X86_IRQ_VECTOR_MAX = 107;

/** `--config key=value` keys, as the CLI spells them. */
export const CONFIG_KEYS = {
  cores: "numCores",
  iommu: "iommu",
  hypervisor: "hypervisor",
  domains: "numDomains",
  "domain-schedules": "numDomainSchedules",
} as const satisfies Record<string, keyof KernelConfig>;

/** Reads one `key=value`; returns the override or a reason it is not one. */
export function parseConfigSetting(setting: string): { ok: true; overrides: KernelConfigOverrides } | { ok: false; reason: string } {
  const eq = setting.indexOf("=");
  const key = eq < 0 ? setting : setting.slice(0, eq);
  const value = eq < 0 ? "" : setting.slice(eq + 1);
  if (!Object.hasOwn(CONFIG_KEYS, key)) return { ok: false, reason: `unknown --config key '${key}' (known: ${Object.keys(CONFIG_KEYS).join(", ")})` };
  const field = CONFIG_KEYS[key as keyof typeof CONFIG_KEYS];
  if (field === "iommu" || field === "hypervisor") {
    if (value !== "true" && value !== "false") return { ok: false, reason: `--config ${key} takes true or false, got '${value}'` };
    return { ok: true, overrides: { [field]: value === "true" } };
  }
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > 256) return { ok: false, reason: `--config ${key} takes a whole number from 1 to 256, got '${value}'` };
  return { ok: true, overrides: { [field]: n } };
}
