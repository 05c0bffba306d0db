/**
 * Microkit `.system` files: text in, a `SystemDescription` or located diagnostics out. Pure.
 *
 * Two phases, as Microkit: every element is read and checked on its own (unknown elements and attributes,
 * missing attributes, bad values), then — only if that succeeded — the rules between elements
 * (`checkSystem`: names, ids, protected-call priorities, maps, budgets). Messages use Microkit's wording
 * with the location first: `file:line:col: error: <message>`.
 */

import type { Diagnostic, SourceLocation } from "../errors.ts";
import type {
  ChannelDescription,
  ChannelEndDescription,
  DomainScheduleEntry,
  IrqDescription,
  MapDescription,
  MemoryRegionDescription,
  ProtectionDomainDescription,
  SetvarDescription,
  SystemDescription,
} from "./description.ts";
import { checkSystem } from "./rules.ts";
import { parseXml, type XmlElement } from "./xml.ts";

export type ParseResult =
  | { readonly ok: true; readonly system: SystemDescription; readonly warnings: Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

/** Elements isokit reads but cannot run: `check` warns, `run` refuses (see `unsupportedFeatures`). */
const UNSUPPORTED = new Set(["virtual_machine", "cspace", "ioport", "iommu", "pci_device"]);

export function parseSystem(text: string, file: string): ParseResult {
  const xml = parseXml(text, file);
  if (!xml.ok) return { ok: false, diagnostics: sortDiagnostics(xml.diagnostics) };
  const reader = new Reader(file);
  const system = reader.system(xml.root);
  const errors = reader.diagnostics.filter((d) => d.severity === "error");
  if (system === undefined || errors.length > 0) return { ok: false, diagnostics: sortDiagnostics(reader.diagnostics) };
  const ruleDiagnostics = checkSystem(system);
  const all = sortDiagnostics([...reader.diagnostics, ...ruleDiagnostics]);
  if (all.some((d) => d.severity === "error")) return { ok: false, diagnostics: all };
  return { ok: true, system, warnings: all };
}

/** Features of a parsed system that `isokit run` cannot provide, as located errors (empty if none). */
export function unsupportedFeatures(system: SystemDescription): Diagnostic[] {
  return (system.unsupported ?? []).map((u) => ({
    severity: "error" as const,
    message: `'${u.element}' is not supported by isokit: worker-thread PDs have no ${u.why}`,
    location: u.location,
  }));
}

function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0));
}

const WHY: Record<string, string> = {
  virtual_machine: "virtual CPUs",
  cspace: "raw seL4 capabilities (cap_sc, cap_tcb)",
  ioport: "x86 I/O ports",
  iommu: "IOMMU",
  pci_device: "PCI devices",
};

class Reader {
  readonly diagnostics: Diagnostic[] = [];
  private readonly unsupported: { element: string; why: string; location: SourceLocation }[] = [];
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  private error(message: string, location: SourceLocation): void {
    this.diagnostics.push({ severity: "error", message, location });
  }

  private warning(message: string, location: SourceLocation): void {
    this.diagnostics.push({ severity: "warning", message, location });
  }

  /** Checks that `el` has only `allowed` attributes and all of `required`. Returns false on a problem. */
  private attributes(el: XmlElement, allowed: readonly string[], required: readonly string[] = []): boolean {
    let ok = true;
    for (const name of el.attributes.keys()) {
      if (!allowed.includes(name)) {
        this.error(`invalid attribute '${name}' (element '${el.name}')`, el.location);
        ok = false;
      }
    }
    for (const name of required) {
      if (!el.attributes.has(name)) {
        this.error(`missing required attribute '${name}' (element '${el.name}')`, el.location);
        ok = false;
      }
    }
    return ok;
  }

  private children(el: XmlElement, allowed: readonly string[]): XmlElement[] {
    const out: XmlElement[] = [];
    for (const child of el.children) {
      if (allowed.includes(child.name)) out.push(child);
      else this.error(`invalid XML element '${child.name}' (element '${el.name}')`, child.location);
    }
    return out;
  }

  /** Decimal or `0x` hex, `_` between digits allowed; `decimalOnly` for `end id`. */
  private number(el: XmlElement, attribute: string, options: { decimalOnly?: boolean } = {}): number | undefined {
    const raw = el.attributes.get(attribute);
    if (raw === undefined) return undefined;
    const value = parseNumber(raw, options.decimalOnly ?? false);
    if (value === undefined) {
      const what = options.decimalOnly === true ? "a decimal integer" : "an integer (decimal or 0x hex, '_' allowed between digits)";
      this.error(`failed to parse '${raw}' as ${what} for attribute '${attribute}' (element '${el.name}')`, el.location);
    }
    return value;
  }

  private boolean(el: XmlElement, attribute: string): boolean | undefined {
    const raw = el.attributes.get(attribute);
    if (raw === undefined) return undefined;
    if (raw === "true") return true;
    if (raw === "false") return false;
    this.error(`${attribute} must be 'true' or 'false', got '${raw}' (element '${el.name}')`, el.location);
    return undefined;
  }

  private unsupportedElement(el: XmlElement): void {
    this.unsupported.push({ element: el.name, why: WHY[el.name] ?? el.name, location: el.location });
    this.warning(`'${el.name}' is parsed but not supported by isokit run (element '${el.name}')`, el.location);
  }

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
    // Pre-2.0 `<protection_domain pp="true">`: remembered here, translated onto channel ends below.
    const legacyPp = new Map<string, SourceLocation>();
    for (const child of this.children(el, ["protection_domain", "channel", "memory_region", "domains", "domain_schedule", ...UNSUPPORTED])) {
      switch (child.name) {
        case "protection_domain": {
          const pd = this.protectionDomain(child, false, legacyPp);
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
          domainSchedule = this.domains(child);
          break;
        case "domain_schedule":
          domainSchedule = this.domainSchedule(child);
          break;
        default:
          this.unsupportedElement(child);
      }
    }
    const translated = channels.map((channel) => translateLegacyPp(channel, legacyPp));
    return {
      file: this.file,
      protectionDomains,
      channels: translated,
      memoryRegions,
      domainSchedule,
      location: el.location,
      unsupported: this.unsupported,
    };
  }

  private protectionDomain(el: XmlElement, isChild: boolean, legacyPp: Map<string, SourceLocation>): ProtectionDomainDescription | undefined {
    const allowed = ["name", "priority", "budget", "period", "passive", "stack_size", "cpu", "fpu", "smc", "domain", "pp"];
    if (isChild) allowed.push("id");
    const ok = this.attributes(el, allowed, isChild ? ["name", "id"] : ["name"]);
    const name = el.attributes.get("name") ?? "";
    if (this.boolean(el, "pp") === true) {
      legacyPp.set(name, el.location);
      this.warning(
        `pp on 'protection_domain' is deprecated since Microkit 2.0: put pp="true" on the calling '<end>' of each channel (translated for PD '${name}')`,
        el.location,
      );
    }
    const pd = {
      name,
      priority: this.number(el, "priority"),
      budget: this.number(el, "budget"),
      period: this.number(el, "period"),
      passive: this.boolean(el, "passive"),
      stackSize: this.number(el, "stack_size"),
      cpu: this.number(el, "cpu"),
      fpu: this.boolean(el, "fpu"),
      smc: this.boolean(el, "smc"),
      domain: el.attributes.get("domain"),
      id: isChild ? this.number(el, "id", { decimalOnly: true }) : undefined,
      location: el.location,
    };
    let program: string | undefined;
    const maps: MapDescription[] = [];
    const irqs: IrqDescription[] = [];
    const setvars: SetvarDescription[] = [];
    const children: ProtectionDomainDescription[] = [];
    for (const child of this.children(el, ["program_image", "map", "irq", "setvar", "protection_domain", ...UNSUPPORTED])) {
      switch (child.name) {
        case "program_image":
          if (program !== undefined) this.error("program_image must only be specified once (element 'program_image')", child.location);
          else if (this.attributes(child, ["path"], ["path"])) program = child.attributes.get("path")!;
          break;
        case "map": {
          const map = this.map(child);
          if (map !== undefined) maps.push(map);
          break;
        }
        case "irq": {
          const irq = this.irq(child);
          if (irq !== undefined) irqs.push(irq);
          break;
        }
        case "setvar":
          if (this.attributes(child, ["symbol", "region_paddr"], ["symbol", "region_paddr"])) {
            setvars.push({ symbol: child.attributes.get("symbol")!, regionPaddr: child.attributes.get("region_paddr"), location: child.location });
          }
          break;
        case "protection_domain": {
          const sub = this.protectionDomain(child, true, legacyPp);
          if (sub !== undefined) children.push(sub);
          break;
        }
        default:
          this.unsupportedElement(child);
      }
    }
    if (program === undefined) {
      this.error("missing 'program_image' element on protection_domain (element 'protection_domain')", el.location);
      return undefined;
    }
    if (!ok) return undefined;
    return { ...pd, program, maps, irqs, setvars, children };
  }

  private map(el: XmlElement): MapDescription | undefined {
    if (!this.attributes(el, ["mr", "vaddr", "perms", "cached", "setvar_vaddr", "setvar_size", "setvar_prefill_size"], ["mr", "vaddr"])) return undefined;
    const vaddr = this.number(el, "vaddr");
    const perms = el.attributes.get("perms");
    if (perms !== undefined && (!/^[rwx]*$/.test(perms) || perms === "w" || perms === "")) {
      this.error(`perms must only be a combination of 'r', 'w', and 'x' and not 'w' alone, got '${perms}' (element 'map')`, el.location);
      return undefined;
    }
    if (vaddr === undefined) return undefined;
    return {
      mr: el.attributes.get("mr")!,
      vaddr,
      perms,
      cached: this.boolean(el, "cached"),
      setvarVaddr: el.attributes.get("setvar_vaddr"),
      setvarSize: el.attributes.get("setvar_size") ?? el.attributes.get("setvar_prefill_size"),
      location: el.location,
    };
  }

  private irq(el: XmlElement): IrqDescription | undefined {
    if (!this.attributes(el, ["irq", "id", "trigger", "setvar_id"], ["id"])) return undefined;
    const trigger = el.attributes.get("trigger");
    if (trigger !== undefined && trigger !== "edge" && trigger !== "level") {
      this.error(`trigger must be either 'level' or 'edge', got '${trigger}' (element 'irq')`, el.location);
      return undefined;
    }
    const id = this.number(el, "id", { decimalOnly: true });
    if (id === undefined) return undefined;
    return { irq: this.number(el, "irq"), id, trigger, location: el.location };
  }

  private memoryRegion(el: XmlElement): MemoryRegionDescription | undefined {
    if (!this.attributes(el, ["name", "size", "page_size", "phys_addr", "prefill_path"], ["name"])) return undefined;
    const size = this.number(el, "size");
    const prefillPath = el.attributes.get("prefill_path");
    if (size === undefined && prefillPath === undefined) {
      if (!el.attributes.has("size")) this.error("missing required attribute 'size' (element 'memory_region')", el.location);
      return undefined;
    }
    return {
      name: el.attributes.get("name")!,
      // With prefill_path and no size, Microkit sizes the region from the file: known only when it is read.
      size: size ?? 0,
      pageSize: this.number(el, "page_size"),
      physAddr: this.number(el, "phys_addr"),
      prefillPath,
      location: el.location,
    };
  }

  private channel(el: XmlElement): ChannelDescription | undefined {
    this.attributes(el, []);
    const endElements = this.children(el, ["end"]);
    if (endElements.length !== 2) {
      this.error("exactly two end elements must be specified (element 'channel')", el.location);
      return undefined;
    }
    const ends = endElements.map((end) => this.end(end));
    const [a, b] = ends;
    if (a === undefined || b === undefined) return undefined;
    return { ends: [a, b], location: el.location };
  }

  private end(el: XmlElement): ChannelEndDescription | undefined {
    if (!this.attributes(el, ["pd", "id", "pp", "notify", "setvar_id"], ["pd", "id"])) return undefined;
    const id = this.number(el, "id", { decimalOnly: true });
    if (id === undefined) return undefined;
    return {
      pd: el.attributes.get("pd")!,
      id,
      pp: this.boolean(el, "pp"),
      notify: this.boolean(el, "notify"),
      setvarId: el.attributes.get("setvar_id"),
      location: el.location,
    };
  }

  /** Microkit 2.x `<domains>`: named domains and a schedule of entries with durations. */
  private domains(el: XmlElement): DomainScheduleEntry[] {
    this.attributes(el, []);
    const schedule: DomainScheduleEntry[] = [];
    for (const child of this.children(el, ["domain", "domain_schedule"])) {
      if (child.name === "domain") {
        this.attributes(child, ["name", "id"], ["name"]);
        this.number(child, "id");
      } else {
        this.attributes(child, ["start_index", "index_shift"]);
        for (const entry of this.children(child, ["schedule_entry", "schedule_end_marker"])) {
          if (entry.name === "schedule_end_marker") {
            this.attributes(entry, []);
            continue;
          }
          if (!this.attributes(entry, ["domain", "duration"], ["domain", "duration"])) continue;
          const duration = entry.attributes.get("duration")!;
          const match = /^\s*(\d[\d_]*)\s*(us|ms|s)?\s*$/.exec(duration);
          if (match === null) {
            this.error(`failed to parse duration '${duration}' (element 'schedule_entry')`, entry.location);
            continue;
          }
          const scale = match[2] === "s" ? 1_000_000 : match[2] === "ms" ? 1000 : 1;
          schedule.push({ name: entry.attributes.get("domain")!, length: Number(match[1]!.replaceAll("_", "")) * scale, location: entry.location });
        }
      }
    }
    return schedule;
  }

  /** The older `<domain_schedule><domain name length/></domain_schedule>` form. */
  private domainSchedule(el: XmlElement): DomainScheduleEntry[] {
    this.attributes(el, []);
    const schedule: DomainScheduleEntry[] = [];
    for (const child of this.children(el, ["domain"])) {
      if (!this.attributes(child, ["name", "length"], ["name", "length"])) continue;
      const length = this.number(child, "length");
      if (length !== undefined) schedule.push({ name: child.attributes.get("name")!, length, location: child.location });
    }
    return schedule;
  }
}

/**
 * Decimal, or `0x` hex; `_` only between digits. Returns undefined for anything else (empty, `0x`, `1__0`,
 * `_1`, signs, fractions) and for values beyond Number.MAX_SAFE_INTEGER.
 */
export function parseNumber(raw: string, decimalOnly: boolean): number | undefined {
  const decimal = /^[0-9](?:_?[0-9])*$/;
  const hex = /^0x[0-9a-fA-F](?:_?[0-9a-fA-F])*$/;
  let value: number;
  if (decimal.test(raw)) value = Number(raw.replaceAll("_", ""));
  else if (!decimalOnly && hex.test(raw)) value = Number.parseInt(raw.slice(2).replaceAll("_", ""), 16);
  else return undefined;
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Before Microkit 2.0, `pp="true"` on a protection domain meant "the PDs it shares a channel with may call
 * it". In 2.x the caller's end carries `pp`. So each channel with a legacy-pp PD at one end gets `pp` on the
 * other end (unless that end already says otherwise).
 */
function translateLegacyPp(channel: ChannelDescription, legacyPp: ReadonlyMap<string, SourceLocation>): ChannelDescription {
  if (legacyPp.size === 0) return channel;
  const [a, b] = channel.ends;
  const fix = (end: ChannelEndDescription, other: ChannelEndDescription): ChannelEndDescription =>
    legacyPp.has(other.pd) && end.pp === undefined ? { ...end, pp: true } : end;
  return { ...channel, ends: [fix(a, b), fix(b, a)] };
}
