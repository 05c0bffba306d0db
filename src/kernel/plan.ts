/**
 * From a system description to a boot plan: validate (the same rules and wording as the `.system` checker),
 * flatten child PDs, give every PD its channel ends, and resolve program modules to URLs.
 */

import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatDiagnostic, IpcError } from "../errors.ts";
import { allProtectionDomains, defaults, type SystemDescription } from "../sdf/description.ts";
import { checkSystem } from "../sdf/rules.ts";
import { descriptionShapeProblems } from "../sdf/shape.ts";

export interface PlannedEnd {
  /** Index of the channel in the description. */
  readonly channel: number;
  /** Which end of the channel buffer. */
  readonly end: 0 | 1;
  readonly id: number;
  readonly pp: boolean;
  readonly notify: boolean;
  /** The other end holds `pp`: this PD serves protected calls on this channel. */
  readonly serves: boolean;
  /** The other end holds `notify`: this PD takes notifications on this channel (checked by the receiver). */
  readonly peerNotifies: boolean;
  readonly peer: string;
}

export interface PlannedMap {
  /** The name the PD finds the mapping by: `setvar_vaddr`, else the region's name. */
  readonly symbol: string;
  readonly region: string;
  readonly perms: string;
}

export interface PlannedRegion {
  readonly name: string;
  readonly size: number;
  /** Initial contents (Microkit `prefill_path`), copied in when the region is created. */
  readonly prefill?: Uint8Array | undefined;
  /** Memory the host supplied for this region (`BootOptions.regions`), used instead of a new buffer. */
  readonly hostBuffer?: SharedArrayBuffer | undefined;
}

export interface PlannedPd {
  readonly name: string;
  readonly priority: number;
  readonly passive: boolean;
  readonly programUrl: string;
  readonly parent: string | undefined;
  readonly childId: number | undefined;
  readonly ends: readonly PlannedEnd[];
  readonly maps: readonly PlannedMap[];
}

export interface Plan {
  readonly pds: readonly PlannedPd[];
  readonly channelCount: number;
  readonly regions: readonly PlannedRegion[];
}

/**
 * @param baseDir directory that relative `program` paths are resolved against
 * @throws IpcError `InvalidSystem` with every diagnostic, or naming a program module that does not exist
 */
export function planSystem(
  system: SystemDescription,
  baseDir: string,
  hostRegions: Readonly<Record<string, SharedArrayBuffer>> = {},
): Plan {
  // A description written in JavaScript may be any object: its shape is checked before any rule reads it.
  const shape = descriptionShapeProblems(system);
  if (shape.length > 0) {
    throw new IpcError("InvalidSystem", `boot: invalid system description:\n${shape.map((m) => `error: ${m}`).join("\n")}`, { operation: "boot" });
  }
  const errors = checkSystem(system).filter((d) => d.severity === "error");
  if (errors.length > 0) {
    throw new IpcError("InvalidSystem", `boot: invalid system description:\n${errors.map(formatDiagnostic).join("\n")}`, {
      operation: "boot",
      diagnostics: errors,
    });
  }
  const ends = new Map<string, PlannedEnd[]>();
  system.channels.forEach((channel, index) => {
    const [a, b] = channel.ends;
    const pair = [a, b] as const;
    pair.forEach((end, i) => {
      const other = pair[1 - i]!;
      const list = ends.get(end.pd) ?? [];
      list.push({
        channel: index,
        end: i as 0 | 1,
        id: end.id,
        pp: end.pp ?? defaults.pp,
        notify: end.notify ?? defaults.notify,
        serves: other.pp ?? defaults.pp,
        peerNotifies: other.notify ?? defaults.notify,
        peer: other.pd,
      });
      ends.set(end.pd, list);
    });
  });
  const pds = allProtectionDomains(system).map(({ pd, parent }) => ({
    name: pd.name,
    priority: pd.priority ?? defaults.priority,
    passive: pd.passive ?? defaults.passive,
    programUrl: programUrl(pd.name, pd.program, baseDir),
    parent,
    childId: pd.id,
    ends: (ends.get(pd.name) ?? []).sort((x, y) => x.id - y.id),
    maps: (pd.maps ?? []).map((m) => ({ symbol: m.setvarVaddr ?? m.mr, region: m.mr, perms: m.perms ?? defaults.perms })),
  }));
  const known = new Set((system.memoryRegions ?? []).map((r) => r.name));
  for (const name of Object.keys(hostRegions)) {
    if (!known.has(name)) throw new IpcError("InvalidSystem", `boot: regions.${name}: the system has no memory region '${name}'`, { operation: "boot" });
  }
  const regions = (system.memoryRegions ?? []).map((r): PlannedRegion => {
    const hostBuffer = Object.hasOwn(hostRegions, r.name) ? hostRegions[r.name] : undefined;
    if (hostBuffer !== undefined) {
      if (!(hostBuffer instanceof SharedArrayBuffer) || hostBuffer.byteLength < r.size) {
        throw new IpcError("InvalidSystem", `boot: regions.${r.name} must be a SharedArrayBuffer of at least ${r.size} bytes`, { operation: "boot" });
      }
      return { name: r.name, size: hostBuffer.byteLength, hostBuffer };
    }
    if (r.prefillPath === undefined) return { name: r.name, size: r.size };
    const path = isAbsolute(r.prefillPath) ? r.prefillPath : resolve(baseDir, r.prefillPath);
    let prefill: Uint8Array;
    try {
      prefill = readFileSync(path);
    } catch (error) {
      throw new IpcError("InvalidSystem", `boot: prefill_path of memory region '${r.name}' cannot be read: ${path}`, { operation: "boot" }, { cause: error });
    }
    // Microkit sizes a prefilled region without `size` from its file, rounded up to whole pages.
    const pageSize = r.pageSize ?? defaults.pageSize;
    const size = r.size > 0 ? r.size : Math.max(pageSize, Math.ceil(prefill.length / pageSize) * pageSize);
    if (prefill.length > size) {
      throw new IpcError("InvalidSystem", `boot: prefill_path of memory region '${r.name}' (${prefill.length} bytes) does not fit its size (${size})`, {
        operation: "boot",
      });
    }
    return { name: r.name, size, prefill };
  });
  return { pds, channelCount: system.channels.length, regions };
}

function programUrl(pd: string, program: string, baseDir: string): string {
  const path = program.startsWith("file:") ? fileURLToPath(program) : isAbsolute(program) ? program : resolve(baseDir, program);
  if (!existsSync(path)) {
    throw new IpcError("InvalidSystem", `boot: program of PD '${pd}' not found: ${path}`, { operation: "boot", pd });
  }
  return pathToFileURL(path).href;
}

/** A region's memory, made by `allocate` and filled with its prefill, if any. */
export function regionBuffer<T extends SharedArrayBuffer | ArrayBuffer>(region: PlannedRegion, allocate: () => T): T | SharedArrayBuffer {
  if (region.hostBuffer !== undefined) return region.hostBuffer;
  const buffer = allocate();
  if (region.prefill !== undefined) new Uint8Array(buffer).set(region.prefill);
  return buffer;
}
