/**
 * Microkit `.system` files: text in, a `SystemDescription` or located diagnostics out. Pure: a prefilled
 * region's file is sized only through the `prefillSize` callback the caller passes (the CLI reads the file).
 *
 * Two phases, as Microkit: first every element is read on its own (unknown elements and attributes, missing
 * attributes, numbers, booleans, enumerations, and what Microkit checks while reading an element: budget
 * against period, stack sizes, the kind of `<irq>` the architecture has, PCI addresses, ...), then — only if
 * that found no error — the rules between elements (`checkSystem`: names, ids, protected-call priorities,
 * maps, sizes). Microkit stops at its first error; isokit reports every problem of the phase that failed,
 * sorted by location, and the first of them is the one Microkit reports for the suite's files.
 *
 * Messages are Microkit's text (see microkit.ts for how its `Error: ... : file:line:col` maps onto
 * `file:line:col: error: ...`). Locations point at the `<` of the element the message is about.
 */

import type { Diagnostic, SourceLocation } from "../errors.ts";
import { DEFAULT_KERNEL_CONFIG, IO_VADDR_LIMIT, X86_IRQ_VECTOR_MAX, pdMaxVaddr, vmMaxVaddr, type KernelConfig } from "./config.ts";
import {
  defaults,
  limits,
  allProtectionDomains,
  type CapMapDescription,
  type ChannelDescription,
  type ChannelEndDescription,
  type DomainDescription,
  type DomainScheduleEntry,
  type IoAddressSpaceDescription,
  type IoPortDescription,
  type IrqDescription,
  type MapDescription,
  type MemoryRegionDescription,
  type ProtectionDomainDescription,
  type SetvarDescription,
  type SystemDescription,
  type VirtualMachineDescription,
} from "./description.ts";
import { readDecimal, readNumber } from "./numbers.ts";
import { formatPciDevice, parsePciDevice } from "./pci.ts";
import { checkSystem } from "./rules.ts";
import { parseXml, type XmlElement } from "./xml.ts";

export type ParseResult =
  | { readonly ok: true; readonly system: SystemDescription; readonly warnings: Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

export interface ParseOptions {
  /** The kernel configuration the rules are checked against; default: the suite's AArch64 one. */
  readonly config?: KernelConfig | undefined;
  /**
   * The size in bytes of a `prefill_path` file, or undefined when it cannot be found. Without this callback
   * prefill files are not looked at (a region without `size` is then sized when the kernel reads its file).
   */
  readonly prefillSize?: ((path: string) => number | undefined) | undefined;
  /**
   * A prefill file that cannot be found: an error, as Microkit (default), or a warning — for a file that is
   * a build output not made yet; `run` reads it at boot and refuses the system then if it is still missing.
   */
  readonly missingPrefill?: "error" | "warning" | undefined;
}

export function parseSystem(text: string, file: string, options: ParseOptions = {}): ParseResult {
  const result = parseChecked(text, file, options);
  if (result.ok) return result;
  return cppTemplate(text, file) ?? result;
}

/**
 * A file that fails and has C-preprocessor directives at the start of a line is a template (LionsOS writes
 * `.system` files that `#include` and `#define`): say so, and how to check it, rather than report the XML
 * parser's confusion at the `#`.
 */
function cppTemplate(text: string, file: string): ParseResult | undefined {
  const match = /^([ \t]*)#[ \t]*(include|define|undef|if|ifdef|ifndef|elif|else|endif)\b/m.exec(text);
  if (match === null) return undefined;
  const line = text.slice(0, match.index).split(/\r\n|\r|\n/).length;
  return {
    ok: false,
    diagnostics: [
      {
        severity: "error",
        message:
          `this is a C-preprocessor template, not a system description ('#${match[2]!}' here): run it through the preprocessor first, ` +
          `with 'isokit check --cpp [-I <include dir>] ${file}' (or 'cpp -P ${file} > out.system' and check that)`,
        location: { file, line, column: match[1]!.length + 1 },
      },
    ],
  };
}

function parseChecked(text: string, file: string, options: ParseOptions): ParseResult {
  const xml = parseXml(text, file);
  if (!xml.ok) return { ok: false, diagnostics: sortDiagnostics(xml.diagnostics) };
  const config = options.config ?? DEFAULT_KERNEL_CONFIG;
  const reader = new Reader(file, xml.diagnostics, config, options.prefillSize, options.missingPrefill ?? "error");
  const system = reader.system(xml.root);
  if (system === undefined || hasError(reader.diagnostics)) return { ok: false, diagnostics: sortDiagnostics(reader.diagnostics) };
  const all = sortDiagnostics([...reader.diagnostics, ...checkSystem(system, config)]);
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
/** 4 KiB and 2 MiB: the page sizes of every architecture Microkit supports. */
const PAGE_SIZES: readonly number[] = [0x1000, 0x20_0000];
const CAP_TYPES = { cap_tcb: "Tcb", cap_sc: "SchedContext", cap_vspace: "VSpace" } as const satisfies Record<string, CapMapDescription["type"]>;
const ARCH_NAMES = { aarch64: "AArch64", riscv64: "RISC-V (64-bit)", x86_64: "x86-64" } as const;

class Reader {
  readonly diagnostics: Diagnostic[];
  private readonly file: string;
  private readonly config: KernelConfig;
  private readonly prefillSize: ((path: string) => number | undefined) | undefined;
  private readonly missingPrefill: "error" | "warning";
  private readonly unsupported: { element: string; why: string; location: SourceLocation }[] = [];
  /** PDs written with the pre-2.0 `pp="true"`, by name. */
  private readonly legacyPp = new Map<string, SourceLocation>();

  constructor(
    file: string,
    diagnostics: readonly Diagnostic[],
    config: KernelConfig,
    prefillSize: ((path: string) => number | undefined) | undefined,
    missingPrefill: "error" | "warning",
  ) {
    this.file = file;
    this.diagnostics = [...diagnostics];
    this.config = config;
    this.prefillSize = prefillSize;
    this.missingPrefill = missingPrefill;
  }

  // ---- helpers: each reports its own problem and returns undefined (or false) so callers can skip -------

  private error(message: string, location: SourceLocation): void {
    this.diagnostics.push({ severity: "error", message, location });
  }

  private warning(message: string, location: SourceLocation): void {
    this.diagnostics.push({ severity: "warning", message, location });
  }

  /** Microkit `value_error`: the message, then which element it is about. */
  private valueError(el: XmlElement, message: string): void {
    this.error(`${message} on element '${el.name}'`, el.location);
  }

  /** Microkit `check_attributes`: every attribute must be one of `allowed`. */
  private attributes(el: XmlElement, allowed: readonly string[]): boolean {
    let ok = true;
    for (const name of el.attributes.keys()) {
      // Namespace declarations are not attributes to roxmltree, so Microkit accepts them anywhere.
      if (name === "xmlns" || name.startsWith("xmlns:")) continue;
      if (!allowed.includes(name)) {
        this.valueError(el, `invalid attribute '${name}'`);
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
    if (value === undefined) this.error(`Missing required attribute '${name}' on element '${el.name}'`, el.location);
    return value;
  }

  /** Decimal or `0x` hex (see numbers.ts). `present` says whether the attribute was there at all. */
  private number(el: XmlElement, name: string): { present: boolean; value: number | undefined } {
    const raw = this.text(el, name);
    if (raw === undefined) return { present: false, value: undefined };
    const result = readNumber(raw);
    if (result.ok) return { present: true, value: result.value };
    this.parseFailure(el, raw, result.reason);
    return { present: true, value: undefined };
  }

  /** Microkit `sdf_parse_number`'s error. */
  private parseFailure(el: XmlElement, raw: string, reason: string): void {
    this.error(`failed to parse integer '${shown(raw)}' on element '${el.name}': ${reason}`, el.location);
  }

  /** A plain decimal that may be negative (ids, interrupt numbers): the caller says which range is allowed. */
  private signed(el: XmlElement, raw: string | undefined): number | undefined {
    if (raw === undefined) return undefined;
    const result = readDecimal(raw);
    if (!result.ok) {
      this.parseFailure(el, raw, result.reason);
      return undefined;
    }
    return result.value;
  }

  /** A channel, IRQ, I/O port or vCPU id: 0..61 (badge bits 62 and 63 are Microkit's). */
  private id(el: XmlElement): number | undefined {
    const id = this.signed(el, this.required(el, "id"));
    if (id === undefined) return undefined;
    if (id > limits.maxChannelId) {
      this.valueError(el, `id must be < ${limits.maxChannelId + 1}`);
      return undefined;
    }
    if (id < 0) {
      this.valueError(el, "id must be >= 0");
      return undefined;
    }
    return id;
  }

  /** A decimal that must not be negative: `<name> must be >= 0`. */
  private nonNegative(el: XmlElement, name: string, raw: string | undefined): number | undefined {
    const value = this.signed(el, raw);
    if (value === undefined) return undefined;
    if (value < 0) {
      this.valueError(el, `${name} must be >= 0`);
      return undefined;
    }
    return value;
  }

  /** Microkit `str_to_bool`: exactly `true` or `false`. */
  private boolean(el: XmlElement, name: string): boolean | undefined {
    const raw = this.text(el, name);
    if (raw === undefined) return undefined;
    if (raw === "true") return true;
    if (raw === "false") return false;
    this.valueError(el, `${name} must be 'true' or 'false'`);
    return undefined;
  }

  private invalidChild(child: XmlElement): void {
    this.error(`invalid XML element '${child.name}'`, child.location);
  }

  private unsupportedElement(el: XmlElement, kind: keyof typeof UNSUPPORTED): void {
    const why = UNSUPPORTED[kind];
    this.unsupported.push({ element: el.name, why, location: el.location });
    this.warning(`${unsupportedMessage(el.name, why)} (parsed and checked; 'isokit run' refuses it)`, el.location);
  }

  /** Microkit `checked_add_setvar`: a symbol is patched once per program. */
  private setvar(symbols: Set<string>, symbol: string | undefined, el: XmlElement): void {
    if (symbol === undefined) return;
    if (symbols.has(symbol)) this.valueError(el, `setvar on symbol '${shown(symbol)}' already exists`);
    else symbols.add(symbol);
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
    const ioAddressSpaces: IoAddressSpaceDescription[] = [];
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
        case "io_address_space": {
          const space = this.ioAddressSpace(child, ioAddressSpaces);
          if (space !== undefined) ioAddressSpaces.push(space);
          break;
        }
        case "virtual_machine":
          this.error("virtual machine must be a child of a protection domain", child.location);
          break;
        default:
          this.invalidChild(child);
      }
    }
    return {
      file: this.file,
      protectionDomains,
      channels: this.translateLegacyPp(protectionDomains, channels),
      memoryRegions,
      domainSchedule,
      domains,
      ioAddressSpaces,
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
    const childId = id === undefined ? undefined : this.number(el, "id").value;
    const legacyPp = this.boolean(el, "pp");
    if (legacyPp === true && name !== undefined) this.legacyPp.set(name, el.location);
    if (legacyPp === false) {
      this.warning(`pp on 'protection_domain' is deprecated since Microkit 2.0: pp="false" was the default and can go (element 'protection_domain')`, el.location);
    }
    // In Microkit's order: budget and period, passive, stack size, smc, cpu, stack-size bounds, priority, fpu.
    const budget = this.number(el, "budget").value;
    const period = this.number(el, "period").value;
    const effectiveBudget = budget ?? defaults.budget;
    const effectivePeriod = period ?? effectiveBudget;
    if (effectiveBudget > effectivePeriod) this.valueError(el, `budget (${effectiveBudget}) must be less than, or equal to, period (${effectivePeriod})`);
    const passive = this.boolean(el, "passive");
    const stackSize = this.number(el, "stack_size").value;
    const smc = this.boolean(el, "smc");
    if (smc === true && this.config.arch !== "aarch64") this.error("ARM SMC forwarding support is not available for this architecture", el.location);
    const cpu = this.number(el, "cpu").value;
    if (cpu !== undefined && cpu >= this.config.numCores) this.valueError(el, `cpu core must be less than ${this.config.numCores}, got ${cpu}`);
    const stack = stackSize ?? limits.minStackSize;
    if (stack < limits.minStackSize || stack > limits.maxStackSize) {
      this.valueError(el, `stack size must be between ${hex(limits.minStackSize)} bytes and ${hex(limits.maxStackSize)} bytes`);
    } else if (stack % defaults.pageSize !== 0) {
      this.valueError(el, `stack size must be aligned to the smallest page size, ${defaults.pageSize} bytes`);
    }
    const priority = this.number(el, "priority").value;
    if (priority !== undefined && priority > limits.maxPriority) this.valueError(el, `priority must be between 0 and ${limits.maxPriority}`);
    const fpu = this.boolean(el, "fpu");

    let program: XmlElement | undefined;
    let virtualMachine: VirtualMachineDescription | undefined;
    let vmElement: XmlElement | undefined;
    let cspace: XmlElement | undefined;
    const maps: MapDescription[] = [];
    const irqs: IrqDescription[] = [];
    const setvars: SetvarDescription[] = [];
    const ioports: IoPortDescription[] = [];
    const capMaps: CapMapDescription[] = [];
    const children: ProtectionDomainDescription[] = [];
    const symbols = new Set<string>();
    const maxVaddr = pdMaxVaddr(this.config, stack);
    for (const child of el.children) {
      switch (child.name) {
        case "program_image":
          this.attributes(child, ["path", "path_for_symbols"]);
          if (program !== undefined) this.valueError(el, "program_image must only be specified once");
          else if (this.required(child, "path") !== undefined) program = child;
          break;
        case "map": {
          const map = this.map(child, true, maxVaddr);
          for (const symbol of [map?.setvarVaddr, map?.setvarSize, map?.setvarPrefillSize]) this.setvar(symbols, symbol, child);
          if (map !== undefined) maps.push(map);
          break;
        }
        case "irq": {
          const irq = this.irq(child, symbols);
          if (irq !== undefined) irqs.push(irq);
          break;
        }
        case "ioport": {
          const port = this.ioport(child, el, symbols);
          if (port !== undefined) ioports.push(port);
          break;
        }
        case "setvar": {
          this.attributes(child, ["symbol", "region_paddr"]);
          const symbol = this.required(child, "symbol");
          const regionPaddr = symbol === undefined ? undefined : this.required(child, "region_paddr");
          if (symbol === undefined || regionPaddr === undefined) break;
          this.setvar(symbols, symbol, child);
          setvars.push({ symbol, regionPaddr, location: child.location });
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
          this.setvar(symbols, sub?.setvarId, child);
          if (sub !== undefined) children.push(sub);
          break;
        }
        case "virtual_machine": {
          if (!this.config.hypervisor) {
            this.valueError(el, "seL4 has not been built as a hypervisor, virtual machines are disabled");
            break;
          }
          if (vmElement !== undefined) {
            this.valueError(el, "virtual_machine must only be specified once");
            break;
          }
          vmElement = child;
          virtualMachine = this.virtualMachine(child);
          break;
        }
        case "cspace":
          if (cspace !== undefined) {
            this.valueError(el, "cspace must only be specified once");
            break;
          }
          cspace = child;
          capMaps.push(...this.cspace(child));
          break;
        default:
          this.invalidChild(child);
      }
    }
    if (program === undefined) {
      // A `<program_image>` without a path has been reported already.
      if (!el.children.some((c) => c.name === "program_image")) this.error(`missing 'program_image' element on protection_domain: '${name ?? ""}'`, el.location);
      return undefined;
    }
    if (!attributesOk || name === undefined) return undefined;
    return {
      name,
      program: this.text(program, "path")!,
      programForSymbols: this.text(program, "path_for_symbols"),
      priority,
      budget,
      period,
      stackSize,
      cpu,
      id: childId,
      passive,
      fpu,
      smc,
      domain: this.text(el, "domain"),
      setvarId: this.text(el, "setvar_id"),
      children,
      maps,
      irqs,
      setvars,
      virtualMachine,
      ioports,
      capMaps,
      location: el.location,
    };
  }

  /** Microkit `SysMap::from_xml`; a VM's maps take no setvars. */
  private map(el: XmlElement, allowSetvar: boolean, maxVaddr: number): MapDescription | undefined {
    const ok = this.attributes(el, ["mr", "vaddr", "perms", "cached", ...(allowSetvar ? ["setvar_vaddr", "setvar_size", "setvar_prefill_size"] : [])]);
    const mr = this.required(el, "mr");
    if (mr === undefined) return undefined;
    const vaddr = this.required(el, "vaddr") === undefined ? undefined : this.number(el, "vaddr").value;
    if (vaddr === undefined) return undefined;
    if (vaddr >= maxVaddr) {
      this.valueError(el, `vaddr (${hex(vaddr)}) must be less than ${hex(maxVaddr)}`);
      return undefined;
    }
    const perms = this.text(el, "perms");
    if (perms !== undefined && !/^[rwx]*$/.test(perms)) {
      this.valueError(el, "perms must only be a combination of 'r', 'w', and 'x'");
      return undefined;
    }
    // Execute does not make a mapping readable: `wx` is as write-only as `w` (the kernel refuses both).
    if (perms !== undefined && perms.includes("w") && !perms.includes("r")) {
      this.valueError(el, "perms must not be 'w', write-only mappings are not allowed");
      return undefined;
    }
    const cached = this.boolean(el, "cached");
    if (!ok) return undefined;
    return {
      mr,
      vaddr,
      perms,
      cached,
      setvarVaddr: this.text(el, "setvar_vaddr"),
      setvarSize: this.text(el, "setvar_size"),
      setvarPrefillSize: this.text(el, "setvar_prefill_size"),
      location: el.location,
    };
  }

  /**
   * Microkit 2.x has three kinds of `<irq>`: `irq=` (ARM, RISC-V), and on x86 `pin=` (I/O APIC) and
   * `pcidev=` (MSI); each architecture refuses the others. All take an id from the PD's channel-id space.
   * isokit runs the `irq=` kind only: the x86 kinds are checked, then refused by `run`.
   */
  private irq(el: XmlElement, symbols: Set<string>): IrqDescription | undefined {
    const id = this.id(el);
    if (id === undefined) return undefined;
    const setvarId = this.text(el, "setvar_id");
    this.setvar(symbols, setvarId, el);
    const x86 = this.config.arch === "x86_64";
    if (el.attributes.has("irq")) {
      if (x86) {
        this.valueError(el, "ARM and RISC-V IRQs are not supported on x86");
        return undefined;
      }
      if (!this.attributes(el, ["irq", "id", "setvar_id", "trigger"])) return undefined;
      const irq = this.nonNegative(el, "irq", this.text(el, "irq"));
      const trigger = this.text(el, "trigger");
      if (trigger !== undefined && trigger !== "level" && trigger !== "edge") {
        this.valueError(el, "trigger must be either 'level' or 'edge'");
        return undefined;
      }
      if (irq === undefined) return undefined;
      return { kind: "conventional", irq, id, trigger, setvarId, location: el.location };
    }
    if (el.attributes.has("pin")) {
      if (!x86) {
        this.valueError(el, "x86 I/O APIC IRQ isn't supported on ARM and RISC-V");
        return undefined;
      }
      if (!this.attributes(el, ["id", "setvar_id", "ioapic", "pin", "trigger", "polarity", "vector"])) return undefined;
      const ioapic = this.text(el, "ioapic") === undefined ? 0 : this.nonNegative(el, "ioapic", this.text(el, "ioapic"));
      if (ioapic === undefined) return undefined;
      const pin = this.nonNegative(el, "pin", this.text(el, "pin"));
      if (pin === undefined) return undefined;
      const trigger = this.text(el, "trigger");
      if (trigger !== undefined && trigger !== "level" && trigger !== "edge") {
        this.valueError(el, "trigger must be either 'level' or 'edge'");
        return undefined;
      }
      const polarity = this.text(el, "polarity");
      if (polarity !== undefined && polarity !== "low" && polarity !== "high") {
        this.valueError(el, "polarity must be either 'low' or 'high'");
        return undefined;
      }
      if (this.vector(el) === undefined) return undefined;
      this.unsupportedElement(el, "irq");
      return { kind: "ioapic", id, ioapic, pin, setvarId, location: el.location };
    }
    if (el.attributes.has("pcidev")) {
      if (!x86) {
        this.valueError(el, "x86 MSI IRQ isn't supported on ARM and RISC-V");
        return undefined;
      }
      if (!this.attributes(el, ["id", "setvar_id", "pcidev", "handle", "vector"])) return undefined;
      const device = parsePciDevice(this.text(el, "pcidev")!);
      if (!device.ok) {
        this.valueError(el, device.reason);
        return undefined;
      }
      if (this.nonNegative(el, "handle", this.required(el, "handle")) === undefined) return undefined;
      if (this.vector(el) === undefined) return undefined;
      this.unsupportedElement(el, "irq");
      return { kind: "msi", id, pciDevice: formatPciDevice(device.device), setvarId, location: el.location };
    }
    // No kind given: Microkit asks for the first attribute of this architecture's kinds.
    this.required(el, x86 ? "pin" : "irq");
    return undefined;
  }

  /** An x86 interrupt vector, required, 0..107. */
  private vector(el: XmlElement): number | undefined {
    const vector = this.signed(el, this.required(el, "vector"));
    if (vector === undefined) return undefined;
    if (vector < 0 || vector > X86_IRQ_VECTOR_MAX) {
      this.valueError(el, `vector must be within [0..${X86_IRQ_VECTOR_MAX}]`);
      return undefined;
    }
    return vector;
  }

  /** x86 `<ioport>`, located (as Microkit does) at its protection domain `pd`. */
  private ioport(el: XmlElement, pd: XmlElement, symbols: Set<string>): IoPortDescription | undefined {
    if (this.config.arch !== "x86_64") {
      this.valueError(pd, "I/O Ports are only available on x86");
      return undefined;
    }
    if (!this.attributes(el, ["id", "setvar_id", "setvar_addr", "addr", "size"])) return undefined;
    const id = this.id(el);
    if (id === undefined) return undefined;
    this.setvar(symbols, this.text(el, "setvar_id"), el);
    const addr = this.required(el, "addr") === undefined ? undefined : this.number(el, "addr").value;
    if (addr === undefined) return undefined;
    this.setvar(symbols, this.text(el, "setvar_addr"), el);
    const size = this.signed(el, this.required(el, "size"));
    if (size === undefined) return undefined;
    if (size <= 0) {
      this.valueError(el, "size must be > 0");
      return undefined;
    }
    this.unsupportedElement(el, "ioport");
    return { id, addr, size, location: pd.location };
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
      if (!(BOOT_INFO as readonly string[]).includes(bootInfo)) this.valueError(el, `BootInfoMap type: '${shown(bootInfo)}' is not supported`);
      else if (prefillPath !== undefined) this.valueError(el, "prefill_path and prefill_bootinfo cannot be both specified");
      else this.unsupportedElement(el, "memory_region");
    }
    if (!size.present && prefillPath === undefined && bootInfo === undefined) {
      this.valueError(el, "size must be specified if memory region is not prefilled");
      return undefined;
    }
    if (!ok || name === undefined || (size.present && size.value === undefined)) return undefined;
    // Microkit checks the page size, the size and the physical address while reading the region.
    const page = pageSize ?? defaults.pageSize;
    if (!PAGE_SIZES.includes(page)) {
      this.valueError(el, `page size ${hex(page)} not supported`);
      return undefined;
    }
    if (size.value !== undefined && size.value % page !== 0) {
      this.valueError(el, "size is not a multiple of the page size");
      return undefined;
    }
    if (physAddr !== undefined && physAddr % page !== 0) {
      this.valueError(el, "phys_addr is not aligned to the page size");
      return undefined;
    }
    let regionSize = size.value;
    if (prefillPath !== undefined && bootInfo === undefined && this.prefillSize !== undefined) {
      const bytes = this.prefillSize(prefillPath);
      if (bytes === undefined && this.missingPrefill === "warning") {
        this.warning(`unable to find prefill file: '${shown(prefillPath)}' on element '${el.name}' (not built yet? 'isokit run' reads it when it boots)`, el.location);
      } else if (bytes === undefined) {
        this.valueError(el, `unable to find prefill file: '${shown(prefillPath)}'`);
        return undefined;
      }
      if (bytes === undefined) {
        // Sized when the kernel reads it (below: 0 stands for that).
      } else if (bytes === 0) {
        this.valueError(el, `prefill file '${shown(prefillPath)}' is empty`);
        return undefined;
      } else if (regionSize === undefined) regionSize = Math.ceil(bytes / page) * page;
      else if (bytes > regionSize) {
        this.valueError(el, `prefill file '${shown(prefillPath)}' is ${bytes} bytes, larger than the memory region size (${hex(regionSize)})`);
        return undefined;
      }
    }
    return {
      name,
      // Without `size` and without a prefill reader, a prefilled region is sized when the kernel reads its
      // file: 0 stands for "from the prefill" here.
      size: regionSize ?? (bootInfo === undefined ? 0 : defaults.pageSize),
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
        this.invalidChild(child);
        strangers = true;
      }
    }
    if (strangers || ends.includes(undefined)) return undefined;
    if (ends.length !== 2) {
      this.valueError(el, "exactly two end elements must be specified");
      return undefined;
    }
    const [a, b] = ends;
    if (a === undefined || b === undefined) return undefined;
    return { ends: [a, b], location: el.location };
  }

  private end(el: XmlElement): ChannelEndDescription | undefined {
    if (!this.attributes(el, ["pd", "id", "pp", "notify", "setvar_id"])) return undefined;
    const pd = this.required(el, "pd");
    if (pd === undefined) return undefined;
    const id = this.id(el);
    if (id === undefined) return undefined;
    const notify = this.boolean(el, "notify");
    if (el.attributes.has("notify") && notify === undefined) return undefined;
    const pp = this.boolean(el, "pp");
    if (el.attributes.has("pp") && pp === undefined) return undefined;
    return { pd, id, pp, notify, setvarId: this.text(el, "setvar_id"), location: el.location };
  }

  /** Microkit 2.x `<domains>`: named domains, then exactly one `<domain_schedule>`. */
  private domains(el: XmlElement): { domains: DomainDescription[]; schedule: DomainScheduleEntry[] } {
    this.attributes(el, []);
    if (this.config.numCores !== 1) {
      this.error("The domain scheduler is not supported in multicore builds of seL4", el.location);
      return { domains: [], schedule: [] };
    }
    const domains: DomainDescription[] = [];
    let scheduleElement: XmlElement | undefined;
    for (const child of el.children) {
      if (child.name === "domain") {
        this.attributes(child, ["name", "id"]);
        const name = this.required(child, "name");
        const id = this.number(child, "id").value;
        if (name === undefined) continue;
        if (id !== undefined && id >= this.config.numDomains) {
          this.valueError(child, `domain id ${id} should be less than the configured KernelNumDomains value of ${this.config.numDomains}`);
          continue;
        }
        const sameName = domains.find((d) => d.name === name);
        const sameId = id === undefined ? undefined : domains.find((d) => d.id === id);
        if (sameName !== undefined) {
          this.valueError(child, `Each <domain>'s name element must be unique found existing domain '${name}' with id '${debugOption(sameName.id)}'`);
        } else if (sameId !== undefined) {
          this.valueError(child, `Each <domain>'s id element must be unique found existing domain '${sameId.name}' with id '${id ?? ""}'`);
        } else domains.push({ name, id, location: child.location });
      } else if (child.name === "domain_schedule") {
        if (scheduleElement !== undefined) this.valueError(child, "The <domain_schedule> element can only appear once");
        else scheduleElement = child;
      } else {
        this.error(`invalid XML element as child of <domains> '${child.name}'`, child.location);
      }
    }
    if (scheduleElement === undefined) {
      this.valueError(el, "The <domain_schedule> element must appear once");
      return { domains, schedule: [] };
    }
    // Domains without an id take the lowest free one, 0..=KernelNumDomains as Microkit counts them.
    const taken = new Set(domains.flatMap((d) => (d.id === undefined ? [] : [d.id])));
    let next = 0;
    const numbered = domains.map((d) => {
      if (d.id !== undefined) return d;
      while (taken.has(next)) next++;
      taken.add(next);
      return { ...d, id: next };
    });
    if (next > this.config.numDomains) {
      this.valueError(el, `Number of domains exceeds ${this.config.numDomains}`);
      return { domains: numbered, schedule: [] };
    }
    return { domains: numbered, schedule: this.domainSchedule(scheduleElement, numbered) };
  }

  private domainSchedule(el: XmlElement, domains: readonly DomainDescription[]): DomainScheduleEntry[] {
    this.attributes(el, ["index_shift", "start_index"]);
    const startIndex = this.number(el, "start_index");
    const shift = this.number(el, "index_shift");
    if (startIndex.present && startIndex.value === undefined) return [];
    if (shift.present && shift.value === undefined) return [];
    const start = startIndex.value ?? 0;
    const schedule: DomainScheduleEntry[] = [];
    let slots = 0;
    for (const child of el.children) {
      if (child.name === "schedule_end_marker") {
        this.attributes(child, []);
        slots++;
      } else if (child.name === "schedule_entry") {
        slots++;
        const entry = this.scheduleEntry(child, domains);
        if (entry !== undefined) schedule.push(entry);
      } else {
        this.error(`invalid XML element as child of <domain_schedule> '${child.name}'`, child.location);
      }
    }
    if (slots >= this.config.numDomainSchedules) {
      this.error(`More than configured KernelNumDomainSchedules ${this.config.numDomainSchedules} number of <schedule_entry> elements found`, el.location);
    } else if (start >= slots) {
      this.valueError(el, `schedule_start_index '${start}' is greater than the length of the schedule '${slots}'`);
    } else if (shift.value !== undefined && shift.value + slots >= this.config.numDomainSchedules) {
      // Microkit's message names the start index where it means the shift; quoted as it prints it.
      this.valueError(el, `schedule_index_shift '${start}' on top of the schedule length '${slots}' would exceed than the configured KernelNumDomainSchedules ${this.config.numDomainSchedules}`);
    }
    return schedule;
  }

  private scheduleEntry(el: XmlElement, domains: readonly DomainDescription[]): DomainScheduleEntry | undefined {
    this.attributes(el, ["domain", "duration"]);
    const name = this.required(el, "domain");
    const duration = name === undefined ? undefined : this.required(el, "duration");
    if (name === undefined || duration === undefined) return undefined;
    if (!domains.some((d) => d.name === name)) {
      this.valueError(el, `domain '${shown(name)}' does not exist,`);
      return undefined;
    }
    const space = duration.indexOf(" ");
    if (space < 0) {
      this.valueError(el, `The duration '${shown(duration)}' must contain a value and a unit, e.g. '1000 us'`);
      return undefined;
    }
    const raw = duration.slice(0, space);
    const unit = duration.slice(space + 1);
    const value = readNumber(raw);
    if (!value.ok) {
      this.parseFailure(el, raw, value.reason);
      return undefined;
    }
    if (value.value === 0) {
      this.valueError(el, `The duration '${shown(duration)}' must be non-zero`);
      return undefined;
    }
    if (unit !== "us" && unit !== "ticks") {
      this.valueError(el, `The duration '${shown(duration)}' must be in either 'ticks' or 'us'`);
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
        this.invalidChild(child);
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

  private virtualMachine(el: XmlElement): VirtualMachineDescription | undefined {
    const aarch64 = this.config.arch === "aarch64";
    if (!this.attributes(el, aarch64 ? ["name", "budget", "period", "priority"] : ["name"])) return undefined;
    const name = this.required(el, "name");
    if (name === undefined) return undefined;
    if (aarch64) {
      const budget = this.number(el, "budget").value ?? defaults.budget;
      const period = this.number(el, "period").value ?? budget;
      if (budget > period) {
        this.valueError(el, `budget (${budget}) must be less than, or equal to, period (${period})`);
        return undefined;
      }
      const priority = this.number(el, "priority").value;
      if (priority !== undefined && priority > limits.maxPriority) {
        this.valueError(el, `priority must be between 0 and ${limits.maxPriority}`);
        return undefined;
      }
    }
    const vcpus: { id: number; location: SourceLocation }[] = [];
    const maps: MapDescription[] = [];
    for (const child of el.children) {
      if (child.name === "vcpu") {
        if (!this.attributes(child, ["id", "setvar_id", "cpu"])) continue;
        const id = this.id(child);
        if (id === undefined) continue;
        if (vcpus.some((v) => v.id === id)) {
          this.error(`duplicate vcpu id ${id} in virtual machine '${name}' @ ${at(child.location)}`, child.location);
          continue;
        }
        const cpu = this.number(child, "cpu").value;
        if (cpu !== undefined && cpu >= this.config.numCores) this.valueError(child, `cpu core must be less than ${this.config.numCores}, got ${cpu}`);
        vcpus.push({ id, location: child.location });
      } else if (child.name === "map") {
        const map = this.map(child, false, vmMaxVaddr(this.config));
        if (map !== undefined) maps.push(map);
      } else {
        this.invalidChild(child);
      }
    }
    if (!el.children.some((c) => c.name === "vcpu")) {
      this.error(`missing 'vcpu' element on virtual_machine: '${name}'`, el.location);
      return undefined;
    }
    this.unsupportedElement(el, "virtual_machine");
    return { name, vcpus, maps, location: el.location };
  }

  private cspace(el: XmlElement): CapMapDescription[] {
    this.attributes(el, []);
    const caps: CapMapDescription[] = [];
    for (const child of el.children) {
      if (Object.hasOwn(CAP_TYPES, child.name)) {
        if (!this.attributes(child, ["slot", "pd"])) continue;
        const slot = this.required(child, "slot") === undefined ? undefined : this.number(child, "slot").value;
        if (slot === undefined) continue;
        if (slot === 0) {
          this.valueError(child, "The destination slot 0 has been reserved for Microkit CNode");
          continue;
        }
        if (slot >= CAP_MAP_MAX_SLOT) {
          this.valueError(child, `There are only ${CAP_MAP_MAX_SLOT} destination cspace slots available.`);
          continue;
        }
        const pd = this.required(child, "pd");
        if (pd !== undefined) caps.push({ type: CAP_TYPES[child.name as keyof typeof CAP_TYPES], slot, pd, location: child.location });
      } else if (child.name.startsWith("cap_")) {
        this.error(`Cap type: '${child.name.slice(4)}' is not supported at '${at(child.location)}'`, child.location);
      } else {
        this.error(`Element '${child.name}' is not supported in a <cspace> element`, child.location);
      }
    }
    this.unsupportedElement(el, "cspace");
    return caps;
  }

  /** x86 `<io_address_space>`: a PCI device's IOMMU mappings. `earlier` are the ones read before it. */
  private ioAddressSpace(el: XmlElement, earlier: readonly IoAddressSpaceDescription[]): IoAddressSpaceDescription | undefined {
    if (!this.config.iommu) {
      this.error("io address space requires seL4 to be built with IOMMU support", el.location);
      return undefined;
    }
    if (!this.attributes(el, ["name", "peripheral_id", "domain_id"])) return undefined;
    const name = this.required(el, "name");
    const peripheral = name === undefined ? undefined : this.required(el, "peripheral_id");
    if (name === undefined || peripheral === undefined) return undefined;
    if (this.config.arch !== "x86_64") {
      this.valueError(el, `failed to parse device peripheral_id '${shown(peripheral)}': IOMMU device identifiers are not supported on ${ARCH_NAMES[this.config.arch]}`);
      return undefined;
    }
    const parsed = parsePciDevice(peripheral);
    if (!parsed.ok) {
      this.valueError(el, `failed to parse device peripheral_id '${shown(peripheral)}': ${parsed.reason}`);
      return undefined;
    }
    const device = formatPciDevice(parsed.device);
    const domainId = this.number(el, "domain_id");
    if (domainId.present && domainId.value === undefined) return undefined;
    if (earlier.some((s) => s.name === name)) {
      this.valueError(el, `duplicate device name '${shown(name)}'`);
      return undefined;
    }
    if (earlier.some((s) => s.device === device)) {
      this.valueError(el, `duplicate device peripheral_id 'PCI device ${device}'`);
      return undefined;
    }
    const maps: IoAddressSpaceDescription["maps"][number][] = [];
    for (const child of el.children) {
      if (child.name !== "iomap") {
        this.invalidChild(child);
        continue;
      }
      if (!this.attributes(child, ["mr", "iovaddr", "perms"])) continue;
      const mr = this.required(child, "mr");
      const iovaddr = mr === undefined || this.required(child, "iovaddr") === undefined ? undefined : this.number(child, "iovaddr").value;
      if (mr === undefined || iovaddr === undefined) continue;
      if (iovaddr >= IO_VADDR_LIMIT) {
        this.valueError(child, `iovaddr (${hex(iovaddr)}) must be less than ${hex(IO_VADDR_LIMIT)}`);
        continue;
      }
      const perms = this.text(child, "perms") ?? "rw";
      if (perms === "" || !/^[rw]+$/.test(perms)) {
        this.valueError(child, "perms for io mapped memory must only be a combination of 'r' and 'w'");
        continue;
      }
      maps.push({ mr, iovaddr, perms, location: child.location });
    }
    this.unsupportedElement(el, "io_address_space");
    return { name, device, maps, location: el.location };
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
  return location === undefined ? "" : ` (first defined at ${at(location)})`;
}

function at(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Rust's `{:?}` of an `Option<u8>`, as Microkit prints a domain's id. */
function debugOption(id: number | undefined): string {
  return id === undefined ? "None" : `Some(${id})`;
}
