/**
 * The rules a system description must obey, checked after every PD has been read (Microkit's two phases:
 * all PDs first, then channels and the rules between them). Pure: description in, diagnostics out. Used by
 * the `.system` parser and by the kernel for descriptions written in TypeScript (which have no locations).
 *
 * Messages use Microkit's own wording (tool/microkit/src/sdf.rs) so users can search for them; unlike Microkit,
 * every rule error carries a location when the description has one, and a rule between two objects quotes both.
 */

import type { Diagnostic, SourceLocation } from "../errors.ts";
import {
  allProtectionDomains,
  defaults,
  limits,
  type ChannelEndDescription,
  type MemoryRegionDescription,
  type ProtectionDomainDescription,
  type SystemDescription,
} from "./description.ts";

/** Page sizes a memory region may use (4 KiB and 2 MiB, as on Microkit's 64-bit targets). */
const PAGE_SIZES = [0x1000, 0x20_0000] as const;
const MIN_STACK = 0x1000;
const MAX_STACK = 0x10_0000;

export function checkSystem(system: SystemDescription): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (message: string, location: SourceLocation | undefined): void => {
    out.push({ severity: "error", message, location });
  };

  // ---- protection domains --------------------------------------------------------------------------------
  const everyPd = allProtectionDomains(system);
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
  }

  // ---- memory regions -----------------------------------------------------------------------------------
  const regions = new Map<string, MemoryRegionDescription>();
  for (const region of system.memoryRegions ?? []) {
    const first = regions.get(region.name);
    if (first !== undefined) {
      error(`duplicate memory region name '${region.name}'.${firstDefined(first.location)}`, region.location);
      continue;
    }
    regions.set(region.name, region);
    const pageSize = region.pageSize ?? defaults.pageSize;
    if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) {
      error(`page_size (${hex(pageSize)}) is not supported: use 0x1000 or 0x200000 (element 'memory_region')`, region.location);
    } else if (region.size % pageSize !== 0 || (region.size === 0 && region.prefillPath === undefined)) {
      error(`size (${hex(region.size)}) must be a non-zero multiple of the page size (${hex(pageSize)}) (element 'memory_region')`, region.location);
    }
  }

  // ---- maps (need the regions) ----------------------------------------------------------------------------
  for (const { pd } of everyPd) {
    for (const map of pd.maps ?? []) {
      const region = regions.get(map.mr);
      if (region === undefined) {
        error(`invalid memory region name '${map.mr}' on 'map'`, map.location ?? pd.location);
        continue;
      }
      const pageSize = region.pageSize ?? defaults.pageSize;
      if (map.vaddr % pageSize !== 0) {
        error(`vaddr (${hex(map.vaddr)}) must be a multiple of the page size (${hex(pageSize)}) of region '${region.name}' (element 'map')`, map.location ?? pd.location);
      }
      const perms = map.perms ?? defaults.perms;
      if (perms === "" || perms === "w" || !/^[rwx]+$/.test(perms)) {
        error(`perms must only be a combination of 'r', 'w', and 'x' and not 'w' alone, got '${perms}' (element 'map')`, map.location ?? pd.location);
      }
    }
  }

  // ---- ids: channel ends and IRQs share one id space per PD -----------------------------------------------
  const usedIds = new Map<string, SourceLocation | undefined>();
  const claimId = (pd: string, id: number, location: SourceLocation | undefined, what: "channel" | "irq"): boolean => {
    const key = `${pd}\u0000${id}`;
    if (usedIds.has(key)) {
      error(`duplicate ${what === "irq" ? "id" : "channel id"}: ${id} in protection domain: '${pd}'${firstDefined(usedIds.get(key))}`, location);
      return false;
    }
    usedIds.set(key, location);
    return true;
  };
  for (const { pd } of everyPd) {
    for (const irq of pd.irqs ?? []) {
      if (!validId(irq.id)) error(`id must be < ${limits.maxChannelId + 1} (element 'irq')`, irq.location ?? pd.location);
      else claimId(pd.name, irq.id, irq.location ?? pd.location, "irq");
    }
    const childIds = new Map<number, ProtectionDomainDescription>();
    for (const child of pd.children ?? []) {
      if (child.id === undefined) continue;
      if (!validId(child.id)) {
        error(`id must be < ${limits.maxChannelId + 1} (element 'protection_domain')`, child.location);
        continue;
      }
      const first = childIds.get(child.id);
      if (first !== undefined) {
        error(`duplicate id: ${child.id} for child protection domains '${first.name}' and '${child.name}' of '${pd.name}'`, child.location);
      } else childIds.set(child.id, child);
    }
  }

  // ---- channels ------------------------------------------------------------------------------------------
  for (const channel of system.channels) {
    // The type says two ends; a description built in JavaScript may not.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (channel.ends.length !== 2) {
      error("exactly two end elements must be specified (element 'channel')", channel.location);
      continue;
    }
    const [a, b] = channel.ends;
    let endsValid = true;
    for (const end of channel.ends) {
      const at = end.location ?? channel.location;
      if (!pds.has(end.pd)) {
        error(`invalid PD name '${end.pd}' (element 'end')`, at);
        endsValid = false;
      }
      if (!Number.isInteger(end.id) || end.id < 0) {
        error(`id must be a non-negative integer, got ${end.id} (element 'end')`, at);
        endsValid = false;
      } else if (end.id > limits.maxChannelId) {
        error(`id must be < ${limits.maxChannelId + 1} (element 'end')`, at);
        endsValid = false;
      } else if (!claimId(end.pd, end.id, at, "channel")) {
        endsValid = false;
      }
    }
    if (!endsValid) continue;
    const aPp = a.pp ?? defaults.pp;
    const bPp = b.pp ?? defaults.pp;
    if (aPp && bPp) {
      error("cannot ppc bidirectionally (element 'channel')", channel.location);
      continue;
    }
    const [caller, callee]: [ChannelEndDescription, ChannelEndDescription] | [undefined, undefined] = aPp ? [a, b] : bPp ? [b, a] : [undefined, undefined];
    if (caller === undefined) continue;
    const callerPriority = pds.get(caller.pd)?.priority ?? defaults.priority;
    const calleePriority = pds.get(callee.pd)?.priority ?? defaults.priority;
    if (callerPriority >= calleePriority) {
      error(
        "PPCs must be to protection domains of strictly higher priorities; " +
          `channel with PPC exists from pd ${caller.pd} (priority: ${callerPriority}) ` +
          `to pd ${callee.pd} (priority: ${calleePriority})`,
        channel.location,
      );
    }
  }
  return out;
}

function checkProtectionDomain(pd: ProtectionDomainDescription, error: (message: string, location: SourceLocation | undefined) => void): void {
  if (pd.name === "") error("name must not be empty (element 'protection_domain')", pd.location);
  if (pd.name.length > limits.maxPdNameLength) {
    error(`name '${pd.name.slice(0, 16)}...' is ${pd.name.length} characters; it must be at most ${limits.maxPdNameLength} (element 'protection_domain')`, pd.location);
  }
  if (pd.name === "monitor") error("the name 'monitor' is reserved for the Microkit monitor (element 'protection_domain')", pd.location);
  const priority = pd.priority ?? defaults.priority;
  if (!Number.isInteger(priority) || priority < 0 || priority > limits.maxPriority) {
    error(`priority must be between 0 and ${limits.maxPriority}, got ${priority} (element 'protection_domain')`, pd.location);
  }
  const budget = pd.budget ?? defaults.budget;
  const period = pd.period ?? budget;
  if (budget > period) error(`budget (${budget}) must be less than, or equal to, period (${period}) (element 'protection_domain')`, pd.location);
  if (pd.stackSize !== undefined && (pd.stackSize < MIN_STACK || pd.stackSize > MAX_STACK || pd.stackSize % 0x1000 !== 0)) {
    error(
      `stack size must be a multiple of 0x1000 between ${hex(MIN_STACK)} and ${hex(MAX_STACK)} bytes, got ${hex(pd.stackSize)} (element 'protection_domain')`,
      pd.location,
    );
  }
}

function validId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= limits.maxChannelId;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function firstDefined(location: SourceLocation | undefined): string {
  return location === undefined ? "" : ` (first defined at ${location.file}:${location.line}:${location.column})`;
}
