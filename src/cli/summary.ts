/** The human summary `isokit check` prints for a valid system. */

import pc from "picocolors";
import { allProtectionDomains, defaults, type SystemDescription } from "../sdf/description.ts";

export function summarize(system: SystemDescription): string[] {
  const lines: string[] = [];
  const pds = allProtectionDomains(system);
  lines.push(pc.bold(`${pds.length} protection domain${pds.length === 1 ? "" : "s"}`));
  for (const { pd, parent } of pds) {
    const budget = pd.budget ?? defaults.budget;
    const facts = [
      `priority ${pd.priority ?? defaults.priority}`,
      pd.passive === true ? "passive" : undefined,
      `budget ${budget} period ${pd.period ?? budget}`,
      parent === undefined ? undefined : `child ${pd.id ?? "?"} of ${parent}`,
      pd.cpu === undefined ? undefined : `cpu ${pd.cpu}`,
      pd.domain === undefined ? undefined : `domain ${pd.domain}`,
    ].filter((f) => f !== undefined);
    lines.push(`  ${pc.cyan(pd.name)}  ${facts.join(", ")}  ${pc.dim(pd.program)}`);
    for (const map of pd.maps ?? []) {
      lines.push(`    maps ${map.mr} at 0x${map.vaddr.toString(16)} (${map.perms ?? defaults.perms})${map.setvarVaddr === undefined ? "" : ` as ${map.setvarVaddr}`}`);
    }
  }
  lines.push(pc.bold(`${system.channels.length} channel${system.channels.length === 1 ? "" : "s"}`));
  for (const channel of system.channels) {
    const [a, b] = channel.ends;
    const end = (e: typeof a) => `${e.pd}:${e.id}${e.pp === true ? " (pp)" : ""}`;
    const arrow = a.pp === true ? "-->" : b.pp === true ? "<--" : "<->";
    lines.push(`  ${end(a)} ${arrow} ${end(b)}`);
  }
  const regions = system.memoryRegions ?? [];
  if (regions.length > 0) {
    lines.push(pc.bold(`${regions.length} memory region${regions.length === 1 ? "" : "s"}`));
    for (const r of regions) lines.push(`  ${pc.cyan(r.name)}  ${r.size} bytes${r.physAddr === undefined ? "" : ` at 0x${r.physAddr.toString(16)}`}`);
  }
  lines.push(pc.dim("budget, period, cpu and domain schedules are shown, not enforced: worker threads are scheduled by the OS."));
  return lines;
}
