/**
 * Microkit `.system` files: text in, a `SystemDescription` or located diagnostics out. Pure.
 *
 * Two phases, as Microkit: first every element is read on its own (unknown elements and attributes, missing
 * attributes, numbers, booleans, enumerations), then — only if that found no error — the rules between
 * elements (`checkSystem`: names, ids, protected-call priorities, maps, sizes), so a rule never reports the
 * fallout of an element that could not be read. Unlike Microkit, which stops at the first error, each phase
 * reports every problem it finds, sorted by location.
 *
 * Messages are Microkit's, with its `... on element 'x': file:line:col` turned into our
 * `file:line:col: error: ... (element 'x')` (see `formatDiagnostic`). Locations point at the `<` of the
 * element the message is about.
 */

import type { Diagnostic, SourceLocation } from "../errors.ts";
import {
  allProtectionDomains,
  defaults,
  limits,
  type ChannelDescription,
  type ChannelEndDescription,
  type DomainDescription,
  type DomainScheduleEntry,
  type IrqDescription,
  type MapDescription,
  type MemoryRegionDescription,
  type ProtectionDomainDescription,
  type SetvarDescription,
  type SystemDescription,
} from "./description.ts";
import { readDecimal, readNumber } from "./numbers.ts";
import { checkSystem } from "./rules.ts";
import { parseXml, type XmlElement } from "./xml.ts";

export type ParseResult =
  | { readonly ok: true; readonly system: SystemDescription; readonly warnings: Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

export function parseSystem(text: string, file: string): ParseResult {
  const xml = parseXml(text, file);
  if (!xml.ok) return { ok: false, diagnostics: sortDiagnostics(xml.diagnostics) };
  const reader = new Reader(file, xml.diagnostics);
  const system = reader.system(xml.root);
  if (system === undefined || hasError(reader.diagnostics)) return { ok: false, diagnostics: sortDiagnostics(reader.diagnostics) };
  const all = sortDiagnostics([...reader.diagnostics, ...checkSystem(system)]);
  if (hasError(all)) return { ok: false, diagnostics: all };
  return { ok: true, system, warnings: all };
}

/** What `isokit run` cannot provide in a parsed system, as located errors (empty if none). */
export function unsupportedFeatures(system: SystemDescription): Diagnostic[] {
  return (system.unsupported ?? []).map((u) => ({ severity: "error" as const, message: unsupportedMessage(u.element, u.why), location: u.location }));
}

function unsupportedMessage(element: string, why: string): string {
  return `'${element}' is not supported by isokit: worker-thread PDs have no ${why}`;
}

function hasError(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === "error");
}

/** By line, then column; stable, so several problems at one element keep the order they were found in. */
function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0));
}

/** Why each element isokit reads but cannot run is refused (completes "worker-thread PDs have no ..."). */
const UNSUPPORTED = {
  virtual_machine: "virtual CPUs",
  cspace: "seL4 capabilities to hand out (cap_tcb, cap_sc, cap_vspace)",
  ioport: "x86 I/O ports",
  io_address_space: "IOMMU address spaces",
  irq: "x86 interrupt controllers (I/O APIC, MSI)",
  memory_region: "boot information to prefill a region with (prefill_bootinfo)",
} as const satisfies Record<string, string>;

const PD_ATTRIBUTES = ["name", "priority", "budget", "period", "passive", "stack_size", "smc", "cpu", "domain", "fpu"] as const;
const BOOT_INFO = ["x86_vbe", "x86_mbmmap", "x86_acpi_rsdp", "x86_framebuffer", "x86_tsc_freq", "fdt"] as const;
const CAP_MAP_MAX_SLOT = 128;

class Reader {
  readonly diagnostics: Diagnostic[];
  private readonly file: string;
  private readonly unsupported: { element: string; why: string; location: SourceLocation }[] = [];
  /** PDs written with the pre-2.0 `pp="true"`, by name. */
  private readonly legacyPp = new Map<string, SourceLocation>();

  constructor(file: string, diagnostics: readonly Diagnostic[]) {
    this.file = file;
    this.diagnostics = [...diagnostics];
  }

  // ---- helpers: each reports its own problem and returns undefined (or false) so callers can skip -------

  private error(message: string, location: SourceLocation): void {
    this.diagnostics.push({ severity: "error", message, location });
  }

  private warning(message: string, location: SourceLocation): void {
    this.diagnostics.push({ severity: "warning", message, location });
  }

  /** Microkit `check_attributes`: every attribute must be one of `allowed`. */
  private attributes(el: XmlElement, allowed: readonly string[]): boolean {
    let ok = true;
    for (const name of el.attributes.keys()) {
      // Namespace declarations are not attributes to roxmltree, so Microkit accepts them anywhere.
      if (name === "xmlns" || name.startsWith("xmlns:")) continue;
      if (!allowed.includes(name)) {
        this.error(`invalid attribute '${name}' (element '${el.name}')`, el.location);
        ok = false;
      }
    }
    return ok;
  }

  private text(el: XmlElement, name: string): string | undefined {
    return el.attributes.get(name)?.value;
  }

  /** Microkit `checked_lookup`. */
  private required(el: XmlElement, name: string): string | undefined {
    const value = this.text(el, name);
    if (value === undefined) this.error(`Missing required attribute '${name}' (element '${el.name}')`, el.location);
    return value;
  }

  /** Decimal or `0x` hex (see numbers.ts). `present` says whether the attribute was there at all. */
  private number(el: XmlElement, name: string): { present: boolean; value: number | undefined } {
    const raw = this.text(el, name);
    if (raw === undefined) return { present: false, value: undefined };
    const result = readNumber(raw);
    if (result.ok) return { present: true, value: result.value };
    this.error(`failed to parse integer '${shown(raw)}' for '${name}' (element '${el.name}'): ${result.reason}`, el.location);
    return { present: true, value: undefined };
  }

  /** Plain decimal, never negative (Microkit's `id must be >= 0`): ids and interrupt numbers. */
  private decimal(el: XmlElement, name: string, raw: string | undefined): number | undefined {
    if (raw === undefined) return undefined;
    const result = readDecimal(raw);
    if (!result.ok) {
      this.error(`failed to parse integer '${shown(raw)}' for '${name}' (element '${el.name}'): ${result.reason}`, el.location);
      return undefined;
    }
    if (result.value < 0) {
      this.error(`${name} must be >= 0 (element '${el.name}')`, el.location);
      return undefined;
    }
    return result.value;
  }

  /** Microkit `str_to_bool`: exactly `true` or `false`. */
  private boolean(el: XmlElement, name: string): boolean | undefined {
    const raw = this.text(el, name);
    if (raw === undefined) return undefined;
    if (raw === "true") return true;
    if (raw === "false") return false;
    this.error(`${name} must be 'true' or 'false', got '${shown(raw)}' (element '${el.name}')`, el.location);
    return undefined;
  }

  private invalidChild(child: XmlElement, parent: XmlElement): void {
    this.error(`invalid XML element '${child.name}' in '${parent.name}'`, child.location);
  }

  private unsupportedElement(el: XmlElement, kind: keyof typeof UNSUPPORTED): void {
    const why = UNSUPPORTED[kind];
    this.unsupported.push({ element: el.name, why, location: el.location });
    this.warning(`${unsupportedMessage(el.name, why)} (parsed and checked; 'isokit run' refuses it)`, el.location);
  }

  // ---- elements ----------------------------------------------------------------------------------------

  system(el: XmlElement): SystemDescription | undefined {
    if (el.name !== "system") {
      this.error(`root element must be 'system', got '${el.name}'`, el.location);
      return undefined;
    }
    this.attributes(el, []);
    const protectionDomains: ProtectionDomainDescription[] = [];
    const channels: ChannelDescription[] = [];
    const memoryRegions: MemoryRegionDescription[] = [];
    let domainSchedule: DomainScheduleEntry[] | undefined;
    let domains: DomainDescription[] | undefined;
    let scheduleElement: XmlElement | undefined;
    for (const child of el.children) {
      switch (child.name) {
        case "protection_domain": {
          const pd = this.protectionDomain(child, 0);
          if (pd !== undefined) protectionDomains.push(pd);
          break;
        }
        case "channel": {
          const channel = this.channel(child);
          if (channel !== undefined) channels.push(channel);
          break;
        }
        case "memory_region": {
          const region = this.memoryRegion(child);
          if (region !== undefined) memoryRegions.push(region);
          break;
        }
        case "domains":
        case "domain_schedule":
          if (scheduleElement !== undefined) {
            this.error(`the domain schedule must only be specified once (element '${child.name}')${firstAt(scheduleElement.location)}`, child.location);
            break;
          }
          scheduleElement = child;
          if (child.name === "domains") ({ domains, schedule: domainSchedule } = this.domains(child));
          else domainSchedule = this.legacyDomainSchedule(child);
          break;
        case "io_address_space":
          this.ioAddressSpace(child);
          break;
        case "virtual_machine":
          this.error("virtual machine must be a child of a protection domain", child.location);
          break;
        default:
          this.invalidChild(child, el);
      }
    }
    return {
      file: this.file,
      protectionDomains,
      channels: this.translateLegacyPp(protectionDomains, channels),
      memoryRegions,
      domainSchedule,
      domains,
      location: el.location,
      unsupported: this.unsupported,
    };
  }

  /** `depth` 0 is a top-level PD; children are read recursively, so the depth is capped (see below). */
  private protectionDomain(el: XmlElement, depth: number): ProtectionDomainDescription | undefined {
    const isChild = depth > 0;
    // `pp` is the pre-2.0 form, accepted with a warning (see translateLegacyPp).
    const attributesOk = this.attributes(el, [...PD_ATTRIBUTES, "pp", ...(isChild ? ["id", "setvar_id"] : [])]);
    const name = this.required(el, "name");
    const id = isChild ? this.required(el, "id") : undefined;
    const legacyPp = this.boolean(el, "pp");
    if (legacyPp === true && name !== undefined) this.legacyPp.set(name, el.location);
    if (legacyPp === false) {
      this.warning(`pp on 'protection_domain' is deprecated since Microkit 2.0: pp="false" was the default and can go (element 'protection_domain')`, el.location);
    }
    const numbers = {
      priority: this.number(el, "priority").value,
      budget: this.number(el, "budget").value,
      period: this.number(el, "period").value,
      stackSize: this.number(el, "stack_size").value,
      cpu: this.number(el, "cpu").value,
      id: id === undefined ? undefined : this.number(el, "id").value,
    };
    const flags = { passive: this.boolean(el, "passive"), fpu: this.boolean(el, "fpu"), smc: this.boolean(el, "smc") };

    let program: XmlElement | undefined;
    let virtualMachine: XmlElement | undefined;
    let cspace: XmlElement | undefined;
    const maps: MapDescription[] = [];
    const irqs: IrqDescription[] = [];
    const setvars: SetvarDescription[] = [];
    const children: ProtectionDomainDescription[] = [];
    for (const child of el.children) {
      switch (child.name) {
        case "program_image":
          this.attributes(child, ["path", "path_for_symbols"]);
          if (program !== undefined) this.error("program_image must only be specified once (element 'program_image')", child.location);
          else if (this.required(child, "path") !== undefined) program = child;
          break;
        case "map": {
          const map = this.map(child, true);
          if (map !== undefined) maps.push(map);
          break;
        }
        case "irq": {
          const irq = this.irq(child);
          if (irq !== undefined) irqs.push(irq);
          break;
        }
        case "setvar": {
          this.attributes(child, ["symbol", "region_paddr"]);
          const symbol = this.required(child, "symbol");
          const regionPaddr = this.required(child, "region_paddr");
          if (symbol !== undefined && regionPaddr !== undefined) setvars.push({ symbol, regionPaddr, location: child.location });
          break;
        }
        case "protection_domain": {
          // More than 63 levels means more than 63 PDs, which the rules refuse anyway; stopping here keeps a
          // hostile file from recursing this reader (and the rules' tree walk) into a stack overflow.
          if (depth + 1 >= limits.maxProtectionDomains) {
            this.error(`too many protection domains defined: nested ${limits.maxProtectionDomains} deep. Maximum is ${limits.maxProtectionDomains}.`, child.location);
            break;
          }
          const sub = this.protectionDomain(child, depth + 1);
          if (sub !== undefined) children.push(sub);
          break;
        }
        case "virtual_machine":
          if (virtualMachine !== undefined) this.error("virtual_machine must only be specified once (element 'virtual_machine')", child.location);
          else virtualMachine = child;
          this.virtualMachine(child);
          break;
        case "cspace":
          if (cspace !== undefined) this.error("cspace must only be specified once (element 'cspace')", child.location);
          else cspace = child;
          this.cspace(child);
          break;
        case "ioport":
          this.ioport(child);
          break;
        default:
          this.invalidChild(child, el);
      }
    }
    if (program === undefined) {
      this.error(`missing 'program_image' element on protection_domain: '${name ?? ""}'`, el.location);
      return undefined;
    }
    if (!attributesOk || name === undefined) return undefined;
    return {
      name,
      program: this.text(program, "path")!,
      programForSymbols: this.text(program, "path_for_symbols"),
      ...numbers,
      ...flags,
      domain: this.text(el, "domain"),
      setvarId: this.text(el, "setvar_id"),
      children,
      maps,
      irqs,
      setvars,
      location: el.location,
    };
  }

  private map(el: XmlElement, allowSetvar: boolean): MapDescription | undefined {
    const ok = this.attributes(el, ["mr", "vaddr", "perms", "cached", ...(allowSetvar ? ["setvar_vaddr", "setvar_size", "setvar_prefill_size"] : [])]);
    const mr = this.required(el, "mr");
    const vaddr = this.required(el, "vaddr") === undefined ? undefined : this.number(el, "vaddr").value;
    const cached = this.boolean(el, "cached");
    if (!ok || mr === undefined || vaddr === undefined) return undefined;
    return {
      mr,
      vaddr,
      perms: this.text(el, "perms"),
      cached,
      setvarVaddr: this.text(el, "setvar_vaddr"),
      setvarSize: this.text(el, "setvar_size"),
      setvarPrefillSize: this.text(el, "setvar_prefill_size"),
      location: el.location,
    };
  }

  /**
   * Microkit 2.x has three kinds of `<irq>`: `irq=` (ARM, RISC-V) is read; the x86 kinds (`pin=` for the
   * I/O APIC, `pcidev=` for MSI) are checked, then refused by `run`. All three take an id from the PD's
   * channel-id space, so each is returned for the id rules.
   */
  private irq(el: XmlElement): IrqDescription | undefined {
    const id = this.decimal(el, "id", this.required(el, "id"));
    const setvarId = this.text(el, "setvar_id");
    if (el.attributes.has("irq")) {
      const ok = this.attributes(el, ["irq", "id", "setvar_id", "trigger"]);
      const irq = this.decimal(el, "irq", this.text(el, "irq"));
      const trigger = this.text(el, "trigger");
      if (trigger !== undefined && trigger !== "level" && trigger !== "edge") {
        this.error(`trigger must be either 'level' or 'edge', got '${shown(trigger)}' (element 'irq')`, el.location);
        return undefined;
      }
      if (!ok || id === undefined || irq === undefined) return undefined;
      return { irq, id, trigger, setvarId, location: el.location };
    }
    if (el.attributes.has("pin")) {
      this.attributes(el, ["id", "setvar_id", "ioapic", "pin", "trigger", "polarity", "vector"]);
      this.decimal(el, "ioapic", this.text(el, "ioapic"));
      this.decimal(el, "pin", this.text(el, "pin"));
      this.decimal(el, "vector", this.required(el, "vector"));
      const trigger = this.text(el, "trigger");
      if (trigger !== undefined && trigger !== "level" && trigger !== "edge") this.error(`trigger must be either 'level' or 'edge', got '${shown(trigger)}' (element 'irq')`, el.location);
      const polarity = this.text(el, "polarity");
      if (polarity !== undefined && polarity !== "low" && polarity !== "high") this.error(`polarity must be either 'low' or 'high', got '${shown(polarity)}' (element 'irq')`, el.location);
    } else if (el.attributes.has("pcidev")) {
      this.attributes(el, ["id", "setvar_id", "pcidev", "handle", "vector"]);
      this.decimal(el, "handle", this.required(el, "handle"));
      this.decimal(el, "vector", this.required(el, "vector"));
    } else {
      this.attributes(el, ["irq", "id", "setvar_id", "trigger"]);
      this.required(el, "irq");
      return undefined;
    }
    this.unsupportedElement(el, "irq");
    return id === undefined ? undefined : { id, setvarId, location: el.location };
  }

  private memoryRegion(el: XmlElement): MemoryRegionDescription | undefined {
    const ok = this.attributes(el, ["name", "size", "page_size", "phys_addr", "prefill_path", "prefill_bootinfo"]);
    const name = this.required(el, "name");
    const size = this.number(el, "size");
    const pageSize = this.number(el, "page_size").value;
    const physAddr = this.number(el, "phys_addr").value;
    const prefillPath = this.text(el, "prefill_path");
    const bootInfo = this.text(el, "prefill_bootinfo");
    if (bootInfo !== undefined) {
      if (!(BOOT_INFO as readonly string[]).includes(bootInfo)) this.error(`BootInfoMap type: '${shown(bootInfo)}' is not supported (element 'memory_region')`, el.location);
      else if (prefillPath !== undefined) this.error("prefill_path and prefill_bootinfo cannot be both specified (element 'memory_region')", el.location);
      else this.unsupportedElement(el, "memory_region");
    }
    if (!size.present && prefillPath === undefined && bootInfo === undefined) {
      this.error("size must be specified if memory region is not prefilled (element 'memory_region')", el.location);
      return undefined;
    }
    if (!ok || name === undefined || (size.present && size.value === undefined)) return undefined;
    return {
      name,
      // Without `size`, Microkit sizes a prefilled region from its file: known only when the file is read
      // (the kernel does), so 0 stands for "from the prefill" here.
      size: size.value ?? (bootInfo === undefined ? 0 : defaults.pageSize),
      pageSize,
      physAddr,
      prefillPath,
      location: el.location,
    };
  }

  private channel(el: XmlElement): ChannelDescription | undefined {
    this.attributes(el, []);
    const ends: (ChannelEndDescription | undefined)[] = [];
    let strangers = false;
    for (const child of el.children) {
      if (child.name === "end") ends.push(this.end(child));
      else {
        this.invalidChild(child, el);
        strangers = true;
      }
    }
    if (ends.length !== 2) {
      // An unknown child already explains a wrong count (`<ending>` for `<end>`).
      if (!strangers) this.error("exactly two end elements must be specified (element 'channel')", el.location);
      return undefined;
    }
    const [a, b] = ends;
    if (a === undefined || b === undefined) return undefined;
    return { ends: [a, b], location: el.location };
  }

  private end(el: XmlElement): ChannelEndDescription | undefined {
    const ok = this.attributes(el, ["pd", "id", "pp", "notify", "setvar_id"]);
    const pd = this.required(el, "pd");
    const id = this.decimal(el, "id", this.required(el, "id"));
    const pp = this.boolean(el, "pp");
    const notify = this.boolean(el, "notify");
    if (!ok || pd === undefined || id === undefined) return undefined;
    return { pd, id, pp, notify, setvarId: this.text(el, "setvar_id"), location: el.location };
  }

  /** Microkit 2.x `<domains>`: named domains, then exactly one `<domain_schedule>`. */
  private domains(el: XmlElement): { domains: DomainDescription[]; schedule: DomainScheduleEntry[] } {
    this.attributes(el, []);
    const domains: DomainDescription[] = [];
    let scheduleElement: XmlElement | undefined;
    for (const child of el.children) {
      if (child.name === "domain") {
        this.attributes(child, ["name", "id"]);
        const name = this.required(child, "name");
        const id = this.number(child, "id").value;
        if (name === undefined) continue;
        const sameName = domains.find((d) => d.name === name);
        const sameId = id === undefined ? undefined : domains.find((d) => d.id === id);
        if (sameName !== undefined) {
          this.error(`Each <domain>'s name element must be unique: found existing domain '${name}'${firstAt(sameName.location)} (element 'domain')`, child.location);
        } else if (sameId !== undefined) {
          this.error(`Each <domain>'s id element must be unique: found existing domain '${sameId.name}' with id '${id ?? ""}'${firstAt(sameId.location)} (element 'domain')`, child.location);
        } else domains.push({ name, id, location: child.location });
      } else if (child.name === "domain_schedule") {
        if (scheduleElement !== undefined) this.error("The <domain_schedule> element can only appear once (element 'domain_schedule')", child.location);
        else scheduleElement = child;
      } else {
        this.error(`invalid XML element as child of <domains> '${child.name}'`, child.location);
      }
    }
    if (scheduleElement === undefined) {
      this.error("The <domain_schedule> element must appear once (element 'domains')", el.location);
      return { domains, schedule: [] };
    }
    return { domains, schedule: this.domainSchedule(scheduleElement) };
  }

  private domainSchedule(el: XmlElement): DomainScheduleEntry[] {
    this.attributes(el, ["index_shift", "start_index"]);
    const start = this.number(el, "start_index").value ?? 0;
    this.number(el, "index_shift");
    const schedule: DomainScheduleEntry[] = [];
    let slots = 0;
    for (const child of el.children) {
      if (child.name === "schedule_end_marker") {
        this.attributes(child, []);
        slots++;
      } else if (child.name === "schedule_entry") {
        slots++;
        const entry = this.scheduleEntry(child);
        if (entry !== undefined) schedule.push(entry);
      } else {
        this.error(`invalid XML element as child of <domain_schedule> '${child.name}'`, child.location);
      }
    }
    if (start >= slots) {
      this.error(`schedule_start_index '${start}' is greater than the length of the schedule '${slots}' (element 'domain_schedule')`, el.location);
    }
    return schedule;
  }

  private scheduleEntry(el: XmlElement): DomainScheduleEntry | undefined {
    this.attributes(el, ["domain", "duration"]);
    const name = this.required(el, "domain");
    const duration = this.required(el, "duration");
    if (name === undefined || duration === undefined) return undefined;
    const space = duration.indexOf(" ");
    if (space < 0) {
      this.error(`The duration '${shown(duration)}' must contain a value and a unit, e.g. '1000 us' (element 'schedule_entry')`, el.location);
      return undefined;
    }
    const raw = duration.slice(0, space);
    const unit = duration.slice(space + 1);
    const value = readNumber(raw);
    if (!value.ok) {
      this.error(`failed to parse integer '${shown(raw)}' for 'duration' (element 'schedule_entry'): ${value.reason}`, el.location);
      return undefined;
    }
    if (value.value === 0) {
      this.error(`The duration '${shown(duration)}' must be non-zero (element 'schedule_entry')`, el.location);
      return undefined;
    }
    if (unit !== "us" && unit !== "ticks") {
      this.error(`The duration '${shown(duration)}' must be in either 'ticks' or 'us' (element 'schedule_entry')`, el.location);
      return undefined;
    }
    return { name, length: value.value, unit, location: el.location };
  }

  /** The `<domain_schedule><domain name length/>` form of the Microkit domain-scheduler branch, before `<domains>`. */
  private legacyDomainSchedule(el: XmlElement): DomainScheduleEntry[] {
    this.attributes(el, []);
    const schedule: DomainScheduleEntry[] = [];
    for (const child of el.children) {
      if (child.name !== "domain") {
        this.invalidChild(child, el);
        continue;
      }
      this.attributes(child, ["name", "length"]);
      const name = this.required(child, "name");
      const length = this.required(child, "length") === undefined ? undefined : this.number(child, "length").value;
      if (name !== undefined && length !== undefined) schedule.push({ name, length, location: child.location });
    }
    return schedule;
  }

  // ---- read and checked, then refused by `run` ---------------------------------------------------------

  private virtualMachine(el: XmlElement): void {
    this.attributes(el, ["name", "budget", "period", "priority"]);
    const name = this.required(el, "name") ?? "";
    for (const attribute of ["budget", "period", "priority"]) this.number(el, attribute);
    const vcpus = new Map<number, XmlElement>();
    for (const child of el.children) {
      if (child.name === "vcpu") {
        this.attributes(child, ["id", "setvar_id", "cpu"]);
        const id = this.decimal(child, "id", this.required(child, "id"));
        this.number(child, "cpu");
        if (id === undefined) continue;
        if (id > 61) this.error("id must be < 62 (element 'vcpu')", child.location);
        const first = vcpus.get(id);
        if (first !== undefined) this.error(`duplicate vcpu id ${id} in virtual machine '${name}'${firstAt(first.location)}`, child.location);
        else vcpus.set(id, child);
      } else if (child.name === "map") {
        this.map(child, false);
      } else {
        this.invalidChild(child, el);
      }
    }
    if (vcpus.size === 0 && !el.children.some((c) => c.name === "vcpu")) this.error(`missing 'vcpu' element on virtual_machine: '${name}'`, el.location);
    this.unsupportedElement(el, "virtual_machine");
  }

  private cspace(el: XmlElement): void {
    this.attributes(el, []);
    for (const child of el.children) {
      if (child.name === "cap_tcb" || child.name === "cap_sc" || child.name === "cap_vspace") {
        this.attributes(child, ["slot", "pd"]);
        this.required(child, "pd");
        const slot = this.required(child, "slot") === undefined ? undefined : this.number(child, "slot").value;
        if (slot === 0) this.error(`The destination slot 0 has been reserved for Microkit CNode (element '${child.name}')`, child.location);
        else if (slot !== undefined && slot >= CAP_MAP_MAX_SLOT) {
          this.error(`There are only ${CAP_MAP_MAX_SLOT} destination cspace slots available. (element '${child.name}')`, child.location);
        }
      } else if (child.name.startsWith("cap_")) {
        this.error(`Cap type: '${child.name.slice(4)}' is not supported`, child.location);
      } else {
        this.error(`Element '${child.name}' is not supported in a <cspace> element`, child.location);
      }
    }
    this.unsupportedElement(el, "cspace");
  }

  private ioport(el: XmlElement): void {
    this.attributes(el, ["id", "setvar_id", "setvar_addr", "addr", "size"]);
    this.decimal(el, "id", this.required(el, "id"));
    if (this.required(el, "addr") !== undefined) this.number(el, "addr");
    const size = this.decimal(el, "size", this.required(el, "size"));
    if (size === 0) this.error("size must be > 0 (element 'ioport')", el.location);
    this.unsupportedElement(el, "ioport");
  }

  private ioAddressSpace(el: XmlElement): void {
    this.attributes(el, ["name", "peripheral_id", "domain_id"]);
    this.required(el, "name");
    this.required(el, "peripheral_id");
    this.number(el, "domain_id");
    for (const child of el.children) {
      if (child.name !== "iomap") {
        this.invalidChild(child, el);
        continue;
      }
      this.attributes(child, ["mr", "iovaddr", "perms"]);
      this.required(child, "mr");
      if (this.required(child, "iovaddr") !== undefined) this.number(child, "iovaddr");
    }
    this.unsupportedElement(el, "io_address_space");
  }

  /**
   * Before Microkit 2.0, `pp="true"` on a protection domain meant "the PDs it shares a channel with may call
   * it" (its endpoint was handed to every peer). 2.0 moved `pp` to the calling `<end>` and began enforcing
   * that a call goes only to a strictly higher priority (CHANGES.md, 2.0.0 upgrade notes: "Set pp=true on
   * the end of the channel for the PD that is performing the PPC").
   *
   * So each end whose *other* end is a legacy-pp PD gets `pp` — where 2.x allows the call. Where the caller
   * is not of lower priority, the call could not be expressed in 2.x: that end keeps no `pp` and the channel
   * gets a warning, so a pre-2.0 file still runs (the channel still notifies) and says what changed. An end
   * that states `pp` itself keeps what it says.
   */
  private translateLegacyPp(roots: readonly ProtectionDomainDescription[], channels: readonly ChannelDescription[]): ChannelDescription[] {
    if (this.legacyPp.size === 0) return [...channels];
    const priorities = new Map<string, number>();
    for (const { pd } of allProtectionDomains({ protectionDomains: roots, channels: [] })) priorities.set(pd.name, pd.priority ?? defaults.priority);
    const callers = new Map<string, Set<string>>();
    const translated = channels.map((channel) => {
      const ends = channel.ends.map((end, i) => {
        const callee = channel.ends[1 - i]!;
        const calleePriority = priorities.get(callee.pd);
        const callerPriority = priorities.get(end.pd);
        if (!this.legacyPp.has(callee.pd) || end.pp !== undefined || calleePriority === undefined || callerPriority === undefined) return end;
        if (callerPriority < calleePriority) {
          callers.set(callee.pd, (callers.get(callee.pd) ?? new Set()).add(end.pd));
          return { ...end, pp: true };
        }
        this.warning(
          `pp="true" on protection_domain '${callee.pd}' gives '${end.pd}' no protected call on this channel: ` +
            `Microkit 2.x allows a PPC only to a strictly higher priority, and '${end.pd}' (priority: ${callerPriority}) ` +
            `is not below '${callee.pd}' (priority: ${calleePriority}) (element 'channel')`,
          // The parser locates every channel; the PD's own location is only the type's fallback.
          channel.location ?? this.legacyPp.get(callee.pd)!,
        );
        return end;
      });
      return { ...channel, ends: [ends[0]!, ends[1]!] as const };
    });
    for (const [name, location] of this.legacyPp) {
      const list = [...(callers.get(name) ?? [])];
      const done = list.length === 0 ? "no channel end gained pp" : `pp="true" added to the end of ${list.map((c) => `'${c}'`).join(", ")}`;
      this.warning(
        `pp on 'protection_domain' is deprecated since Microkit 2.0: put pp="true" on the calling end of each channel instead (translated for '${name}': ${done}) (element 'protection_domain')`,
        location,
      );
    }
    return translated;
  }
}

/** An attribute value as quoted in a message: a pasted megabyte stays out of the terminal. */
function shown(raw: string): string {
  return raw.length <= 40 ? raw : `${raw.slice(0, 37)}...`;
}

function firstAt(location: SourceLocation | undefined): string {
  return location === undefined ? "" : ` (first defined at ${location.file}:${location.line}:${location.column})`;
}
