/**
 * A system description: the one type both a TypeScript-written system and a parsed Microkit `.system` file
 * produce, and the only input the kernel boots. Field names follow the Microkit XML attributes (camelCased);
 * optional fields take Microkit's defaults (see `defaults` below), so a description written by hand needs only
 * what it means.
 *
 * `location` fields are set by the `.system` parser and point at the element's `<`; rule errors use them so
 * every diagnostic is `file:line:col`. A description written in TypeScript has none, and its diagnostics say
 * which PD or channel they are about instead.
 */

import type { SourceLocation } from "../errors.ts";

export type { SourceLocation };

export interface SystemDescription {
  /** Where the description came from (a `.system` path), for messages. */
  readonly file?: string | undefined;
  /** Top-level protection domains; children are nested in `children`. */
  readonly protectionDomains: readonly ProtectionDomainDescription[];
  readonly channels: readonly ChannelDescription[];
  readonly memoryRegions?: readonly MemoryRegionDescription[] | undefined;
  /** Microkit `<domain_schedule>`: shown by `check`, not enforced by worker threads. */
  readonly domainSchedule?: readonly DomainScheduleEntry[] | undefined;
  /** Microkit 2.x `<domains><domain name id/>`: the names a PD's `domain` may use (ids as written, if any). */
  readonly domains?: readonly DomainDescription[] | undefined;
  readonly location?: SourceLocation | undefined;
  /** x86 `<io_address_space>`es (IOMMU), as read: checked, not run. */
  readonly ioAddressSpaces?: readonly IoAddressSpaceDescription[] | undefined;
  /** Elements the parser read but isokit cannot run (`cspace`, `virtual_machine`, ...): `run` refuses them. */
  readonly unsupported?: readonly { readonly element: string; readonly why: string; readonly location: SourceLocation }[] | undefined;
}

export interface ProtectionDomainDescription {
  /** Unique in the system, at most 64 characters; `monitor` is reserved. */
  readonly name: string;
  /** 0..254; default 0. Drives the protected-call rule: a PPC goes only to a strictly higher priority. */
  readonly priority?: number | undefined;
  /**
   * The PD's program: a module path or `file:` URL whose default export is `protectionDomain({...})`.
   * A parsed `.system` file holds `program_image path` here as written (`server.elf`) until the CLI resolves it.
   */
  readonly program: string;
  /** A passive PD runs only when notified or called, after its `init`. */
  readonly passive?: boolean | undefined;
  /** Microkit scheduling parameters (µs): shown by `check`, not enforced by worker threads. */
  readonly budget?: number | undefined;
  readonly period?: number | undefined;
  readonly stackSize?: number | undefined;
  readonly cpu?: number | undefined;
  readonly fpu?: boolean | undefined;
  readonly smc?: boolean | undefined;
  readonly domain?: string | undefined;
  /** For a child PD: its id in the parent's view (0..61), passed to the parent's `fault(child, ...)`. */
  readonly id?: number | undefined;
  /** For a child PD: the symbol in the *parent's* program that receives the child's id (Microkit `setvar_id`). */
  readonly setvarId?: string | undefined;
  /** Microkit `program_image path_for_symbols`: kept as written, unused by isokit. */
  readonly programForSymbols?: string | undefined;
  readonly children?: readonly ProtectionDomainDescription[] | undefined;
  readonly maps?: readonly MapDescription[] | undefined;
  readonly irqs?: readonly IrqDescription[] | undefined;
  readonly setvars?: readonly SetvarDescription[] | undefined;
  /** Parsed and checked for the rules between elements; isokit runs none of these (`run` refuses them). */
  readonly virtualMachine?: VirtualMachineDescription | undefined;
  readonly ioports?: readonly IoPortDescription[] | undefined;
  readonly capMaps?: readonly CapMapDescription[] | undefined;
  readonly location?: SourceLocation | undefined;
}

/** `<virtual_machine>` in a PD: its vCPUs and guest maps, for the rules that involve them. */
export interface VirtualMachineDescription {
  readonly name: string;
  readonly vcpus: readonly { readonly id: number; readonly location?: SourceLocation | undefined }[];
  readonly maps: readonly MapDescription[];
  readonly location?: SourceLocation | undefined;
}

/** x86 `<ioport>`. Located, as Microkit locates it, at its protection domain. */
export interface IoPortDescription {
  readonly id: number;
  readonly addr: number;
  readonly size: number;
  readonly location?: SourceLocation | undefined;
}

/** `<cspace><cap_tcb|cap_sc|cap_vspace slot pd/>`: a capability to another PD's object in this PD's CSpace. */
export interface CapMapDescription {
  /** As Microkit names the object type in messages. */
  readonly type: "Tcb" | "SchedContext" | "VSpace";
  readonly slot: number;
  readonly pd: string;
  readonly location?: SourceLocation | undefined;
}

/** x86 `<io_address_space name peripheral_id domain_id><iomap mr iovaddr perms/>`. */
export interface IoAddressSpaceDescription {
  readonly name: string;
  /** The PCI device, as Microkit shows it (`00:03.0`). */
  readonly device: string;
  readonly maps: readonly { readonly mr: string; readonly iovaddr: number; readonly perms: string; readonly location?: SourceLocation | undefined }[];
  readonly location?: SourceLocation | undefined;
}

export interface ChannelEndDescription {
  /** Name of the PD that holds this end. */
  readonly pd: string;
  /** The end's id, local to its PD: 0..61, unique among that PD's channel and IRQ ids. */
  readonly id: number;
  /** This end may make protected calls through the channel (to the other end's PD). Default false. */
  readonly pp?: boolean | undefined;
  /** This end may notify the other. Default true. */
  readonly notify?: boolean | undefined;
  readonly setvarId?: string | undefined;
  readonly location?: SourceLocation | undefined;
}

export interface ChannelDescription {
  readonly ends: readonly [ChannelEndDescription, ChannelEndDescription];
  readonly location?: SourceLocation | undefined;
}

export interface MemoryRegionDescription {
  readonly name: string;
  /** Bytes; a multiple of the page size. */
  readonly size: number;
  readonly pageSize?: number | undefined;
  readonly physAddr?: number | undefined;
  readonly prefillPath?: string | undefined;
  readonly location?: SourceLocation | undefined;
}

export interface MapDescription {
  /** Name of a memory region. */
  readonly mr: string;
  readonly vaddr: number;
  /** A mix of `r`, `w`, `x`; never `w` alone. Default `rw`. */
  readonly perms?: string | undefined;
  readonly cached?: boolean | undefined;
  /** The name under which the PD finds this mapping (seed 000's `memory_region_symbol!`). */
  readonly setvarVaddr?: string | undefined;
  readonly setvarSize?: string | undefined;
  /** Symbol that receives the size of the region's prefill data; the region needs a `prefill_path`. */
  readonly setvarPrefillSize?: string | undefined;
  readonly location?: SourceLocation | undefined;
}

export interface IrqDescription {
  /** `irq` for ARM and RISC-V; the x86 kinds are `ioapic` (`pin`) and `msi` (`pcidev`). */
  readonly kind?: "conventional" | "ioapic" | "msi" | undefined;
  readonly irq?: number | undefined;
  /** x86 I/O APIC: the controller and pin; x86 MSI: the PCI device (`00:03.0`). */
  readonly ioapic?: number | undefined;
  readonly pin?: number | undefined;
  readonly pciDevice?: string | undefined;
  readonly id: number;
  readonly trigger?: "edge" | "level" | undefined;
  /** Symbol that receives `id` (Microkit `setvar_id`). */
  readonly setvarId?: string | undefined;
  readonly location?: SourceLocation | undefined;
}

export interface SetvarDescription {
  readonly symbol: string;
  readonly regionPaddr?: string | undefined;
  readonly location?: SourceLocation | undefined;
}

export interface DomainScheduleEntry {
  readonly name: string;
  /** In `unit`s: microseconds unless the entry says `ticks`. */
  readonly length: number;
  readonly unit?: "us" | "ticks" | undefined;
  readonly location?: SourceLocation | undefined;
}

export interface DomainDescription {
  readonly name: string;
  readonly id?: number | undefined;
  readonly location?: SourceLocation | undefined;
}

/** Microkit's defaults, in one place. */
export const defaults = {
  priority: 0,
  budget: 1000,
  passive: false,
  pp: false,
  notify: true,
  perms: "rw",
  cached: true,
  pageSize: 0x1000,
} as const;

/** Microkit's limits (tool 2.x). Channel and IRQ ids stop at 61: badge bits 62 and 63 are reserved. */
export const limits = {
  maxChannelId: 61,
  maxProtectionDomains: 63,
  maxPdNameLength: 64,
  maxPriority: 254,
  /** `stack_size` bounds (Microkit `PD_MIN_STACK_SIZE`, `PD_MAX_STACK_SIZE`); it must also be a multiple of 0x1000. */
  minStackSize: 0x1000,
  maxStackSize: 0x100_0000,
} as const;

/** Every protection domain, children after their parent (depth first), with the parent's name. */
export function allProtectionDomains(
  system: SystemDescription,
): { readonly pd: ProtectionDomainDescription; readonly parent: string | undefined }[] {
  const out: { pd: ProtectionDomainDescription; parent: string | undefined }[] = [];
  const walk = (pds: readonly ProtectionDomainDescription[], parent: string | undefined): void => {
    for (const pd of pds) {
      out.push({ pd, parent });
      walk(pd.children ?? [], pd.name);
    }
  };
  walk(system.protectionDomains, undefined);
  return out;
}
