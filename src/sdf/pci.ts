/** PCI addresses in `.system` files (`<irq pcidev>`, `<io_address_space peripheral_id>`): `bus:device.function`. */

export interface PciDevice {
  readonly bus: number;
  readonly device: number;
  readonly func: number;
}

/**
 * Parses `bus:device.function`, each part hexadecimal as `lspci` prints it. The reasons are Microkit's
 * words; a part that is not a number is "failed to parse PCI device", one out of range says its range.
 */
export function parsePciDevice(text: string): { ok: true; device: PciDevice } | { ok: false; reason: string } {
  const match = /^([^:]*):([^.]*)\.(.*)$/.exec(text);
  if (match === null) return { ok: false, reason: "expected PCI address in bus:device.function form" };
  const parts = [match[1]!, match[2]!, match[3]!].map((p) => (/^-?[0-9a-fA-F]{1,8}$/.test(p) ? Number.parseInt(p, 16) : undefined));
  const [bus, device, func] = parts;
  if (bus === undefined || device === undefined || func === undefined) return { ok: false, reason: "failed to parse PCI device" };
  if (bus < 0 || bus > 255) return { ok: false, reason: "PCI bus must be within [0..255]" };
  if (device < 0 || device > 31) return { ok: false, reason: "PCI device must be within [0..31]" };
  if (func < 0 || func > 7) return { ok: false, reason: "PCI function must be within [0..7]" };
  return { ok: true, device: { bus, device, func } };
}

/** As Microkit shows one: `00:03.0`. */
export function formatPciDevice(d: PciDevice): string {
  return `${d.bus.toString(16).padStart(2, "0")}:${d.device.toString(16).padStart(2, "0")}.${d.func.toString(16)}`;
}
