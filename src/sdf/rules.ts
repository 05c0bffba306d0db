/**
 * The rules a system description must obey, checked after every PD has been read (Microkit's two phases:
 * all PDs first, then channels and the rules between them). Pure: description in, diagnostics out.
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
  type ProtectionDomainDescription,
  type SystemDescription,
} from "./description.ts";

export function checkSystem(system: SystemDescription): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (message: string, location: SourceLocation | undefined): void => {
    out.push({ severity: "error", message, location });
  };

  const pds = new Map<string, ProtectionDomainDescription>();
  for (const { pd } of allProtectionDomains(system)) {
    const first = pds.get(pd.name);
    if (first !== undefined) {
      error(`duplicate protection domain name '${pd.name}'.${firstDefined(first.location)}`, pd.location);
      continue;
    }
    pds.set(pd.name, pd);
  }

  // Channel ids are local to a PD: remember the first end that used each (pd, id).
  const usedIds = new Map<string, ChannelEndDescription>();
  for (const channel of system.channels) {
    if (channel.ends.length !== 2) {
      error("exactly two end elements must be specified (element 'channel')", channel.location);
      continue;
    }
    const [a, b] = channel.ends;
    let endsValid = true;
    for (const end of channel.ends) {
      if (!pds.has(end.pd)) {
        error(`invalid PD name '${end.pd}' (element 'end')`, end.location ?? channel.location);
        endsValid = false;
      }
      if (!Number.isInteger(end.id) || end.id < 0) {
        error(`id must be a non-negative integer, got ${end.id} (element 'end')`, end.location ?? channel.location);
        endsValid = false;
      } else if (end.id > limits.maxChannelId) {
        error(`id must be < ${limits.maxChannelId + 1} (element 'end')`, end.location ?? channel.location);
        endsValid = false;
      } else {
        const key = `${end.pd}\u0000${end.id}`;
        const previous = usedIds.get(key);
        if (previous === undefined) usedIds.set(key, end);
        else
          error(
            `duplicate channel id: ${end.id} in protection domain: '${end.pd}'${firstDefined(previous.location)}`,
            end.location ?? channel.location,
          );
      }
    }
    if (!endsValid) continue;
    const aPp = a.pp ?? defaults.pp;
    const bPp = b.pp ?? defaults.pp;
    if (aPp && bPp) {
      error("cannot ppc bidirectionally (element 'channel')", channel.location);
      continue;
    }
    const [caller, callee] = aPp ? [a, b] : bPp ? [b, a] : [undefined, undefined];
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

function firstDefined(location: SourceLocation | undefined): string {
  return location === undefined ? "" : ` (first defined at ${location.file}:${location.line}:${location.column})`;
}
