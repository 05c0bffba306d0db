/**
 * What `isokit check` shows of a valid system: every PD with its scheduling parameters (defaults filled in),
 * every channel with its ends and which end may call, every region and who maps it. Plain data first
 * (`summarizeSystem`), plain text lines second (`formatSummary`): colour belongs to the CLI.
 */

import { allProtectionDomains, defaults, type SystemDescription } from "./description.ts";

export interface PdSummary {
  readonly name: string;
  readonly program: string;
  readonly priority: number;
  readonly passive: boolean;
  readonly budget: number;
  readonly period: number;
  /** For a child PD: its parent and its id there. */
  readonly parent?: { readonly name: string; readonly id: number | undefined } | undefined;
  readonly maps: readonly { readonly region: string; readonly vaddr: number; readonly perms: string; readonly symbol: string | undefined }[];
}

export interface ChannelEndSummary {
  readonly pd: string;
  readonly id: number;
  /** This end may call the other (`pp`). */
  readonly pp: boolean;
  readonly notify: boolean;
}

export interface RegionSummary {
  readonly name: string;
  /** Bytes; 0 when the size comes from the prefill file. */
  readonly size: number;
  readonly physAddr: number | undefined;
  readonly prefillPath: string | undefined;
  /** Names of the PDs that map it. */
  readonly mappedBy: readonly string[];
}

export interface SystemSummary {
  readonly protectionDomains: readonly PdSummary[];
  readonly channels: readonly { readonly ends: readonly [ChannelEndSummary, ChannelEndSummary] }[];
  readonly memoryRegions: readonly RegionSummary[];
  /** Elements parsed but refused by `isokit run`. */
  readonly unsupported: readonly string[];
}

export function summarizeSystem(system: SystemDescription): SystemSummary {
  const pds = allProtectionDomains(system);
  const protectionDomains = pds.map(({ pd, parent }): PdSummary => {
    const budget = pd.budget ?? defaults.budget;
    return {
      name: pd.name,
      program: pd.program,
      priority: pd.priority ?? defaults.priority,
      passive: pd.passive ?? defaults.passive,
      budget,
      period: pd.period ?? budget,
      parent: parent === undefined ? undefined : { name: parent, id: pd.id },
      maps: (pd.maps ?? []).map((m) => ({ region: m.mr, vaddr: m.vaddr, perms: m.perms ?? defaults.perms, symbol: m.setvarVaddr })),
    };
  });
  const end = (e: SystemDescription["channels"][number]["ends"][0]): ChannelEndSummary => ({
    pd: e.pd,
    id: e.id,
    pp: e.pp ?? defaults.pp,
    notify: e.notify ?? defaults.notify,
  });
  return {
    protectionDomains,
    channels: system.channels.map((c) => ({ ends: [end(c.ends[0]), end(c.ends[1])] as const })),
    memoryRegions: (system.memoryRegions ?? []).map((r) => ({
      name: r.name,
      size: r.size,
      physAddr: r.physAddr,
      prefillPath: r.prefillPath,
      mappedBy: pds.filter(({ pd }) => (pd.maps ?? []).some((m) => m.mr === r.name)).map(({ pd }) => pd.name),
    })),
    unsupported: (system.unsupported ?? []).map((u) => u.element),
  };
}

/**
 * The summary as text, one fact per line, e.g.
 *
 *     protection domain client: priority 100, budget 1000, period 1000 (microkit-ipc-client.elf)
 *     channel client:13 --pp--> server:37
 */
export function formatSummary(summary: SystemSummary): string[] {
  const lines: string[] = [];
  for (const pd of summary.protectionDomains) {
    const facts = [`priority ${pd.priority}`, ...(pd.passive ? ["passive"] : []), `budget ${pd.budget}`, `period ${pd.period}`];
    const child = pd.parent === undefined ? "" : ` (child ${pd.parent.id ?? "?"} of ${pd.parent.name})`;
    lines.push(`protection domain ${pd.name}${child}: ${facts.join(", ")} (${pd.program})`);
    for (const m of pd.maps) lines.push(`  maps ${m.region} at 0x${m.vaddr.toString(16)} ${m.perms}${m.symbol === undefined ? "" : ` as ${m.symbol}`}`);
  }
  for (const { ends } of summary.channels) {
    const [a, b] = ends;
    const side = (e: ChannelEndSummary): string => `${e.pd}:${e.id}${e.notify ? "" : " (no notify)"}`;
    const arrow = a.pp ? "--pp-->" : b.pp ? "<--pp--" : "<----->";
    lines.push(`channel ${side(a)} ${arrow} ${side(b)}`);
  }
  for (const r of summary.memoryRegions) {
    const size = r.size === 0 ? "sized by its prefill" : `0x${r.size.toString(16)} bytes`;
    const where = r.physAddr === undefined ? "" : ` at 0x${r.physAddr.toString(16)}`;
    const prefill = r.prefillPath === undefined ? "" : `, prefilled from ${r.prefillPath}`;
    lines.push(`memory region ${r.name}: ${size}${where}${prefill}, mapped by ${r.mappedBy.length === 0 ? "nobody" : r.mappedBy.join(", ")}`);
  }
  for (const element of summary.unsupported) lines.push(`unsupported by isokit run: ${element}`);
  return lines;
}
