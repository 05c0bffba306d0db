/**
 * The rules a system description must obey, checked after every PD has been read (Microkit's two phases:
 * all PDs first, then channels and the rules between them). Pure: description in, diagnostics out. Used by
 * the `.system` parser and by the kernel for descriptions written in TypeScript, which have no locations —
 * so every rule works on values alone, and a location is only ever an addition.
 *
 * Messages use Microkit's own wording (tool/microkit/src/sdf*.rs) so users can search for them; unlike Microkit,
 * every rule error carries a location when the description has one (the element the rule is about), and a rule
 * between two objects quotes both: a duplicate says where the first one was.
 */

import type { Diagnostic, SourceLocation } from "../errors.ts";
import { IO_VADDR_LIMIT, pdMaxVaddr, type KernelConfig } from "./config.ts";
import {
  allProtectionDomains,
  defaults,
  limits,
  type ChannelEndDescription,
  type IrqDescription,
  type MapDescription,
  type MemoryRegionDescription,
  type ProtectionDomainDescription,
  type SystemDescription,
} from "./description.ts";

/** Page sizes a memory region may use (4 KiB and 2 MiB, as on Microkit's 64-bit targets). */
const PAGE_SIZES: readonly number[] = [0x1000, 0x20_0000];
const SMALLEST_PAGE = 0x1000;

type Report = (message: string, location: SourceLocation | undefined) => void;

/**
 * `config` is the kernel configuration of a parsed `.system` file: with it the rules that depend on the
 * architecture run too (x86 virtual machines, `setvar region_paddr` on x86, the top of the address space).
 * The kernel checks descriptions written in TypeScript without one: worker threads have no address space
 * to run out of.
 */
export function checkSystem(system: SystemDescription, config?: KernelConfig): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error: Report = (message, location) => {
    out.push({ severity: "error", message, location });
  };
  const warning: Report = (message, location) => {
    out.push({ severity: "warning", message, location });
  };

  // ---- protection domains --------------------------------------------------------------------------------
  const everyPd = allProtectionDomains(system);
  if (everyPd.length === 0) error("at least one protection domain must be defined", system.location);
  if (everyPd.length > limits.maxProtectionDomains) {
    error(
      `too many protection domains (${everyPd.length}) defined. Maximum is ${limits.maxProtectionDomains}.`,
      everyPd[limits.maxProtectionDomains]?.pd.location ?? system.location,
    );
  }
  const pds = new Map<string, ProtectionDomainDescription>();
  for (const { pd } of everyPd) {
    const first = pds.get(pd.name);
    if (first !== undefined) {
      error(`duplicate protection domain name '${pd.name}'.${firstDefined(first.location)}`, pd.location);
      continue;
    }
    pds.set(pd.name, pd);
    checkProtectionDomain(pd, error);
    checkChildIds(pd, error);
  }
  if (config?.arch === "x86_64") {
    for (const { pd } of everyPd) {
      if (pd.virtualMachine !== undefined && (pd.children ?? []).length > 0) {
        error(`It is not possible for PD '${pd.name}' with a bound vCPU to have children on x86_64`, pd.location);
      }
    }
  }
  const vms = new Map<string, ProtectionDomainDescription>();
  for (const { pd } of everyPd) {
    const vm = pd.virtualMachine;
    if (vm === undefined) continue;
    const first = vms.get(vm.name);
    if (first !== undefined) error(`duplicate virtual machine name '${vm.name}'${firstDefined(first.virtualMachine?.location)}`, vm.location ?? pd.location);
    else vms.set(vm.name, pd);
  }

  // ---- memory regions -----------------------------------------------------------------------------------
  const regions = new Map<string, MemoryRegionDescription>();
  const placed: { region: MemoryRegionDescription; start: number; end: number }[] = [];
  const broken = new Set<string>();
  for (const region of system.memoryRegions ?? []) {
    const first = regions.get(region.name);
    if (first !== undefined) {
      error(`duplicate memory region name '${region.name}'.${firstDefined(first.location)}`, region.location);
      continue;
    }
    regions.set(region.name, region);
    if (!checkRegion(region, error)) {
      // Its page size or size is wrong: checking maps against it would only repeat that.
      broken.add(region.name);
      continue;
    }
    if (region.physAddr === undefined || region.size === 0) continue;
    const start = region.physAddr;
    const end = start + region.size;
    const other = placed.find((p) => start < p.end && p.start < end);
    if (other !== undefined) {
      error(
        `memory region '${region.name}' physical address range ${range(start, end)} overlaps with another memory region ` +
          `'${other.region.name}' ${range(other.start, other.end)}${atSign(region.location)}${firstDefined(other.region.location)}`,
        region.location,
      );
    }
    placed.push({ region, start, end });
  }

  // ---- maps and setvars (need the regions) ----------------------------------------------------------------
  const used = new Set<string>();
  const checkMaps = (maps: readonly MapDescription[], owner: string, fallback: SourceLocation | undefined, maxVaddr: number | undefined): void => {
    const mapped: { map: MapDescription; start: number; end: number }[] = [];
    for (const map of maps) {
      const at = map.location ?? fallback;
      const region = regions.get(map.mr);
      used.add(map.mr);
      if (!checkPerms(map, at, error)) continue;
      if (region === undefined) {
        error(`invalid memory region name '${map.mr}' on 'map'${atSign(at)}`, at);
        continue;
      }
      if (broken.has(region.name)) continue;
      if (map.setvarPrefillSize !== undefined && region.prefillPath === undefined) error(`'setvar_prefill_size' used for MR without a \`prefill_path\`${atSign(at)}`, at);
      if (!Number.isInteger(map.vaddr) || map.vaddr < 0) {
        error(`vaddr must be a non-negative integer, got ${map.vaddr} on element 'map'`, at);
        continue;
      }
      const pageSize = region.pageSize ?? defaults.pageSize;
      if (map.vaddr % pageSize !== 0) {
        error(`invalid vaddr alignment on 'map'${atSign(at)}`, at);
        continue;
      }
      // A prefilled region without a size is sized when its file is read: its extent is not known here.
      if (region.size <= 0) continue;
      const start = map.vaddr;
      const end = start + region.size;
      if (maxVaddr !== undefined && end > maxVaddr) {
        error(`map for '${map.mr}' has virtual address range ${range(start, end)} which exceeds valid address space ${range(0, maxVaddr)}${atSign(at)}`, at);
        continue;
      }
      const other = mapped.find((m) => start < m.end && m.start < end);
      if (other !== undefined) {
        error(
          `map for '${map.mr}' has virtual address range ${range(start, end)} which overlaps with map for '${other.map.mr}' ` +
            `${range(other.start, other.end)} in ${owner}${atSign(at)}${firstDefined(other.map.location)}`,
          at,
        );
      }
      mapped.push({ map, start, end });
    }
  };
  for (const { pd } of everyPd) {
    checkMaps(pd.maps ?? [], `protection domain '${pd.name}'`, pd.location, config === undefined ? undefined : pdMaxVaddr(config, pd.stackSize ?? limits.minStackSize));
    if (pd.virtualMachine !== undefined) checkMaps(pd.virtualMachine.maps, `virtual machine '${pd.virtualMachine.name}'`, pd.virtualMachine.location ?? pd.location, undefined);
    for (const setvar of pd.setvars ?? []) {
      if (setvar.regionPaddr === undefined) continue;
      const at = setvar.location ?? pd.location;
      const region = regions.get(setvar.regionPaddr);
      if (region === undefined) error(`invalid memory region name '${setvar.regionPaddr}' on 'setvar'${atSign(at)}`, at);
      else if (config?.arch === "x86_64" && region.physAddr === undefined) {
        error(`setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86-64${atSign(at)}`, at);
      }
    }
  }
  checkIoAddressSpaces(system, regions, used, error);
  checkCapMaps(everyPd, pds, error);
  checkSetvarSymbols(system, everyPd, error);

  // ---- ids: channel ends and IRQs share one id space per PD (IRQs first, as Microkit) -------------------------
  const usedIds = new Map<string, SourceLocation | undefined>();
  const claimId = (pd: string, id: number, location: SourceLocation | undefined): boolean => {
    const key = `${pd}\u0000${id}`;
    if (usedIds.has(key)) {
      error(`duplicate channel id: ${id} in protection domain: '${pd}'${atSign(location)}${firstDefined(usedIds.get(key))}`, location);
      return false;
    }
    usedIds.set(key, location);
    return true;
  };
  const irqNumbers = new Map<string, { pd: string; location: SourceLocation | undefined }>();
  for (const { pd } of everyPd) {
    for (const irq of pd.irqs ?? []) {
      const at = irq.location ?? pd.location;
      if (!Number.isInteger(irq.id) || irq.id < 0) error(`id must be >= 0 on element 'irq'`, at);
      else if (irq.id > limits.maxChannelId) error(`id must be < ${limits.maxChannelId + 1} on element 'irq'`, at);
      else claimId(pd.name, irq.id, at);
      const key = interruptSource(irq);
      if (key === undefined) continue;
      const first = irqNumbers.get(key.key);
      if (first !== undefined) {
        error(`duplicate ${key.what} in protection domain: '${pd.name}'${atSign(at)} (first used by protection domain '${first.pd}'${seenAt(first.location)})`, at);
      } else irqNumbers.set(key.key, { pd: pd.name, location: at });
    }
  }
  checkIoPorts(everyPd, error);

  // ---- channels ------------------------------------------------------------------------------------------
  for (const channel of system.channels) {
    // The type says two ends; a description built in JavaScript may not.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (channel.ends.length !== 2) {
      error("exactly two end elements must be specified on element 'channel'", channel.location);
      continue;
    }
    const [a, b] = channel.ends;
    let endsValid = true;
    for (const end of channel.ends) {
      const at = end.location ?? channel.location;
      if (!pds.has(end.pd)) {
        error(`invalid PD name '${end.pd}' on element 'end'`, at);
        endsValid = false;
      }
      if (!Number.isInteger(end.id) || end.id < 0) {
        error(`id must be >= 0 on element 'end'`, at);
        endsValid = false;
      } else if (end.id > limits.maxChannelId) {
        error(`id must be < ${limits.maxChannelId + 1} on element 'end'`, at);
        endsValid = false;
      } else if (!claimId(end.pd, end.id, at)) {
        endsValid = false;
      }
    }
    if (!endsValid) continue;
    const aPp = a.pp ?? defaults.pp;
    const bPp = b.pp ?? defaults.pp;
    if (aPp && bPp) {
      error("cannot ppc bidirectionally on element 'channel'", channel.location);
      continue;
    }
    const [caller, callee]: [ChannelEndDescription, ChannelEndDescription] | [undefined, undefined] = aPp ? [a, b] : bPp ? [b, a] : [undefined, undefined];
    if (caller === undefined) continue;
    const callerPriority = pds.get(caller.pd)?.priority ?? defaults.priority;
    const calleePriority = pds.get(callee.pd)?.priority ?? defaults.priority;
    if (config?.arch === "x86_64" && pds.get(callee.pd)?.virtualMachine !== undefined) {
      error(`It is not possible to PPC to PD '${callee.pd}' with a bound vCPU from PD '${caller.pd}' on x86_64`, channel.location ?? caller.location);
      continue;
    }
    if (callerPriority >= calleePriority) {
      error(
        "PPCs must be to protection domains of strictly higher priorities; " +
          `channel with PPC exists from pd ${caller.pd} (priority: ${callerPriority}) ` +
          `to pd ${callee.pd} (priority: ${calleePriority})`,
        channel.location ?? caller.location,
      );
    }
  }

  checkDomains(system, everyPd, error);

  // Microkit prints this as a WARNING and builds the system anyway.
  for (const region of regions.values()) {
    if (!used.has(region.name)) warning(`unused memory region '${region.name}'`, region.location);
  }
  return out;
}

function checkProtectionDomain(pd: ProtectionDomainDescription, error: Report): void {
  const at = pd.location;
  if (pd.name === "") error("name must not be empty on element 'protection_domain'", at);
  if (pd.name.length > limits.maxPdNameLength) {
    error(`name '${pd.name.slice(0, 16)}...' is ${pd.name.length} characters; it must be at most ${limits.maxPdNameLength} on element 'protection_domain'`, at);
  }
  if (pd.name === "monitor") error("the name 'monitor' is reserved for the Microkit monitor on element 'protection_domain'", at);
  const priority = pd.priority ?? defaults.priority;
  if (!Number.isInteger(priority) || priority < 0 || priority > limits.maxPriority) {
    error(`priority must be between 0 and ${limits.maxPriority} on element 'protection_domain'`, at);
  }
  const budget = pd.budget ?? defaults.budget;
  const period = pd.period ?? budget;
  if (budget > period) error(`budget (${budget}) must be less than, or equal to, period (${period}) on element 'protection_domain'`, at);
  if (pd.stackSize !== undefined) {
    const { minStackSize: min, maxStackSize: max } = limits;
    if (!Number.isInteger(pd.stackSize) || pd.stackSize < min || pd.stackSize > max) {
      error(`stack size must be between ${hex(min)} bytes and ${hex(max)} bytes on element 'protection_domain'`, at);
    } else if (pd.stackSize % SMALLEST_PAGE !== 0) {
      error(`stack size must be aligned to the smallest page size, ${SMALLEST_PAGE} bytes on element 'protection_domain'`, at);
    }
  }
  if (pd.cpu !== undefined && (!Number.isInteger(pd.cpu) || pd.cpu < 0)) error(`cpu must be a non-negative integer, got ${pd.cpu} on element 'protection_domain'`, at);
}

/** Child ids: a child's faults reach its parent badged with the id, so ids are 0..61 and unique per parent. */
function checkChildIds(parent: ProtectionDomainDescription, error: Report): void {
  const seen = new Map<number, ProtectionDomainDescription>();
  for (const child of parent.children ?? []) {
    if (child.id === undefined) continue;
    if (!Number.isInteger(child.id) || child.id < 0) {
      error(`id must be >= 0 on element 'protection_domain'`, child.location);
      continue;
    }
    if (child.id > limits.maxChannelId) {
      error(`id must be < ${limits.maxChannelId + 1} on element 'protection_domain'`, child.location);
      continue;
    }
    const first = seen.get(child.id);
    if (first !== undefined) {
      error(
        `duplicate id: ${child.id} in protection domain: '${parent.name}'${atSign(child.location)} (child '${child.name}' clashes with child '${first.name}'${seenAt(first.location)})`,
        child.location,
      );
      continue;
    }
    seen.set(child.id, child);
    if (parent.virtualMachine?.vcpus.some((v) => v.id === child.id) === true) {
      error(`duplicate id: ${child.id} clashes with virtual machine vcpu id in protection domain: '${parent.name}'${atSign(child.location)}`, child.location);
    }
  }
}

/** Reports what is wrong with one region on its own; returns false if anything is. */
function checkRegion(region: MemoryRegionDescription, error: Report): boolean {
  const at = region.location;
  const pageSize = region.pageSize ?? defaults.pageSize;
  if (!PAGE_SIZES.includes(pageSize)) {
    error(`page size ${hexOrRaw(pageSize)} not supported on element 'memory_region'`, at);
    return false;
  }
  if (!Number.isInteger(region.size) || region.size < 0) {
    error(`size must be a non-negative integer, got ${region.size} on element 'memory_region'`, at);
    return false;
  }
  // Size 0 with a prefill file means "as large as the file" (known when the file is read).
  if (region.size === 0 && region.prefillPath === undefined) {
    error("size must be greater than 0 on element 'memory_region'", at);
    return false;
  }
  if (region.size % pageSize !== 0) {
    error("size is not a multiple of the page size on element 'memory_region'", at);
    return false;
  }
  if (region.physAddr !== undefined && (!Number.isInteger(region.physAddr) || region.physAddr % pageSize !== 0)) {
    error("phys_addr is not aligned to the page size on element 'memory_region'", at);
    return false;
  }
  return true;
}

/** Microkit `SysMapPerms::from_str`: only r, w, x; the kernel refuses write-only mappings. */
function checkPerms(map: MapDescription, at: SourceLocation | undefined, error: Report): boolean {
  const perms = map.perms ?? defaults.perms;
  if (perms === "" || !/^[rwx]+$/.test(perms)) {
    error("perms must only be a combination of 'r', 'w', and 'x' on element 'map'", at);
    return false;
  }
  // Execute does not make a mapping readable: `wx` is as write-only as `w` (Microkit refuses both).
  if (perms.includes("w") && !perms.includes("r")) {
    error("perms must not be 'w', write-only mappings are not allowed on element 'map'", at);
    return false;
  }
  return true;
}

/**
 * Every symbol Microkit patches into a PD's program must be named once in that PD: map `setvar_*`, `<setvar>`,
 * irq and channel-end `setvar_id`, and a child's `setvar_id` (which is patched into the *parent*).
 */
function checkSetvarSymbols(system: SystemDescription, everyPd: ReturnType<typeof allProtectionDomains>, error: Report): void {
  type Claim = { symbol: string; element: string; location: SourceLocation | undefined };
  const claims = new Map<string, Claim[]>();
  const claim = (pd: string, symbol: string | undefined, element: string, location: SourceLocation | undefined): void => {
    if (symbol === undefined) return;
    const list = claims.get(pd);
    if (list === undefined) claims.set(pd, [{ symbol, element, location }]);
    else list.push({ symbol, element, location });
  };
  for (const { pd } of everyPd) {
    for (const map of pd.maps ?? []) {
      for (const symbol of [map.setvarVaddr, map.setvarSize, map.setvarPrefillSize]) claim(pd.name, symbol, "map", map.location ?? pd.location);
    }
    for (const setvar of pd.setvars ?? []) claim(pd.name, setvar.symbol, "setvar", setvar.location ?? pd.location);
    for (const irq of pd.irqs ?? []) claim(pd.name, irq.setvarId, "irq", irq.location ?? pd.location);
    for (const child of pd.children ?? []) claim(pd.name, child.setvarId, "protection_domain", child.location);
  }
  for (const channel of system.channels) {
    for (const end of channel.ends) claim(end.pd, end.setvarId, "end", end.location ?? channel.location);
  }
  for (const list of claims.values()) {
    // In document order when located, so the second spelling is the one reported.
    const ordered = [...list].sort((x, y) => (x.location?.line ?? 0) - (y.location?.line ?? 0) || (x.location?.column ?? 0) - (y.location?.column ?? 0));
    const seen = new Map<string, Claim>();
    for (const c of ordered) {
      const first = seen.get(c.symbol);
      if (first !== undefined) error(`setvar on symbol '${c.symbol}' already exists on element '${c.element}'`, c.location);
      else seen.set(c.symbol, c);
    }
  }
}

/**
 * A PD's `domain` must name a declared domain: with Microkit 2.x `<domains>` every PD needs one; with the
 * older `<domain_schedule>` the schedule's names are the domains; with neither, `domain` is refused.
 */
function checkDomains(system: SystemDescription, everyPd: ReturnType<typeof allProtectionDomains>, error: Report): void {
  const declared = system.domains?.map((d) => d.name) ?? system.domainSchedule?.map((e) => e.name);
  for (const { pd } of everyPd) {
    if (declared === undefined) {
      if (pd.domain !== undefined) {
        error(`Specifying a domain '${pd.domain}' without declaring a domain schedule is not allowed: on element 'protection_domain'`, pd.location);
      }
    } else if (pd.domain === undefined) {
      if (system.domains !== undefined) error("Missing required attribute 'domain' on element 'protection_domain'", pd.location);
    } else if (!declared.includes(pd.domain)) {
      error(`domain '${pd.domain}' not declared in ${system.domains === undefined ? "<domain_schedule>" : "<domains>"}: on element 'protection_domain'`, pd.location);
    }
  }
  if (system.domains === undefined) return;
  for (const entry of system.domainSchedule ?? []) {
    if (!declared!.includes(entry.name)) error(`domain '${entry.name}' does not exist, on element 'schedule_entry'`, entry.location);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Hex for an integer; anything else (a TypeScript caller's 1.5 or NaN) as written. */
function hexOrRaw(n: number): string {
  return Number.isSafeInteger(n) && n >= 0 ? hex(n) : String(n);
}

function range(start: number, end: number): string {
  return `[${hex(start)}..${hex(end)})`;
}

function firstDefined(location: SourceLocation | undefined): string {
  return location === undefined ? "" : ` (first defined at ${location.file}:${location.line}:${location.column})`;
}

/** Microkit's own way of pointing at an element inside a message: ` @ file:line:col`. */
function atSign(location: SourceLocation | undefined): string {
  return location === undefined ? "" : ` @ ${location.file}:${location.line}:${location.column}`;
}

function seenAt(location: SourceLocation | undefined): string {
  return location === undefined ? "" : ` at ${location.file}:${location.line}:${location.column}`;
}

/** What one interrupt claims system-wide: an IRQ number, an x86 I/O APIC pin, or an MSI-capable PCI device. */
function interruptSource(irq: IrqDescription): { key: string; what: string } | undefined {
  if (irq.kind === "ioapic" && irq.pin !== undefined) return { key: `ioapic ${irq.ioapic ?? 0} pin ${irq.pin}`, what: `I/O APIC pin: ${irq.pin} (ioapic ${irq.ioapic ?? 0})` };
  if (irq.kind === "msi" && irq.pciDevice !== undefined) return { key: `msi ${irq.pciDevice}`, what: `MSI PCI device: ${irq.pciDevice}` };
  if (irq.irq !== undefined) return { key: `irq ${irq.irq}`, what: `irq: ${irq.irq}` };
  return undefined;
}

/** x86 I/O port ranges are the machine's: no two ports, in one PD or two, may overlap. */
function checkIoPorts(everyPd: ReturnType<typeof allProtectionDomains>, error: Report): void {
  const seen: { pd: string; id: number; start: number; end: number; location: SourceLocation | undefined }[] = [];
  const describe = (p: (typeof seen)[number]): string =>
    `I/O port id: ${p.id}, half-open range: [${hex(p.start)}, ${hex(p.end)}) in protection domain: '${p.pd}'${atSign(p.location)}`;
  for (const { pd } of everyPd) {
    for (const port of pd.ioports ?? []) {
      const here = { pd: pd.name, id: port.id, start: port.addr, end: port.addr + port.size, location: port.location ?? pd.location };
      const other = seen.find((p) => here.start < p.end && p.start < here.end);
      if (other !== undefined) error(`${describe(here)} overlaps with ${describe(other)}`, here.location);
      seen.push(here);
    }
  }
}

/** x86 IOMMU mappings: a region that exists, in 4 KiB pages, inside the 2^39-byte I/O space, not overlapping in one device. */
function checkIoAddressSpaces(system: SystemDescription, regions: ReadonlyMap<string, MemoryRegionDescription>, used: Set<string>, error: Report): void {
  for (const space of system.ioAddressSpaces ?? []) {
    const mapped: { mr: string; start: number; end: number }[] = [];
    for (const map of space.maps) {
      const at = map.location ?? space.location;
      used.add(map.mr);
      const region = regions.get(map.mr);
      if (region === undefined) {
        error(`invalid memory region name '${map.mr}' on 'iomap'${atSign(at)}`, at);
        continue;
      }
      if ((region.pageSize ?? defaults.pageSize) !== SMALLEST_PAGE) {
        error("currently seL4 does not have large page support for the IOMMU", at);
        continue;
      }
      // Sizes go to 2^64 - 1: the sum is taken exactly.
      const endExact = BigInt(map.iovaddr) + BigInt(region.size);
      if (endExact > 2n ** 64n - 1n) {
        error(`iomap for '${map.mr}' has address range that overflows${atSign(at)}`, at);
        continue;
      }
      const start = map.iovaddr;
      const end = Number(endExact);
      if (end > IO_VADDR_LIMIT) {
        error(`iomap for '${map.mr}' has io address range ${range(start, end)} which exceeds valid address space ${range(0, IO_VADDR_LIMIT)}${atSign(at)}`, at);
        continue;
      }
      const other = mapped.find((m) => start < m.end && m.start < end);
      if (other !== undefined) {
        error(
          `map for '${map.mr}' has io address range ${range(start, end)} which overlaps with map for '${other.mr}' ${range(other.start, other.end)} in PCI device ${space.device}${atSign(at)}`,
          at,
        );
      }
      mapped.push({ mr: map.mr, start, end });
    }
  }
}

/** `<cspace>` capabilities name existing PDs, and a slot holds one capability. */
function checkCapMaps(everyPd: ReturnType<typeof allProtectionDomains>, pds: ReadonlyMap<string, ProtectionDomainDescription>, error: Report): void {
  for (const { pd } of everyPd) {
    const bySlot = new Map<number, NonNullable<ProtectionDomainDescription["capMaps"]>[number][]>();
    for (const cap of pd.capMaps ?? []) {
      if (!pds.has(cap.pd)) {
        error(`unknown PD name '${cap.pd}'`, cap.location ?? pd.location);
        continue;
      }
      bySlot.set(cap.slot, [...(bySlot.get(cap.slot) ?? []), cap]);
    }
    for (const [slot, caps] of bySlot) {
      if (caps.length < 2) continue;
      const lines = caps.map((c) => `  type ${c.type} from '${c.pd}' at '${c.location === undefined ? "?" : `${c.location.file}:${c.location.line}:${c.location.column}`}'`);
      error(`overlapping user caps in slot ${slot} of protection domain '${pd.name}':\n${lines.join("\n")}`, caps[1]!.location ?? pd.location);
    }
  }
}
