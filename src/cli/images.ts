/**
 * `program_image path="server.elf"` names a native image; isokit runs a JS/TS module instead. Resolution:
 * an `--image name=path` override for the PD, else the first of `server.ts`, `server.mts`, `server.js`,
 * `server.mjs` beside the `.system` file. A failed resolution lists everything it tried.
 */

import { existsSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { IpcError } from "../errors.ts";
import type { ProtectionDomainDescription, SystemDescription } from "../sdf/description.ts";

export const imageExtensions = [".ts", ".mts", ".js", ".mjs"] as const;

/** Parses repeated `--image name=path` options. */
export function parseImageOverrides(values: readonly string[], cwd: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0 || eq === value.length - 1) {
      throw new IpcError("InvalidArgument", `--image: expected name=path, got '${value}'`, { operation: "--image" });
    }
    out.set(value.slice(0, eq), resolve(cwd, value.slice(eq + 1)));
  }
  return out;
}

/** The description with every `program` resolved to an absolute module path. */
export function resolveImages(system: SystemDescription, systemFile: string, overrides: ReadonlyMap<string, string>): SystemDescription {
  const dir = dirname(resolve(systemFile));
  const unused = new Set(overrides.keys());
  const resolvePd = (pd: ProtectionDomainDescription): ProtectionDomainDescription => {
    unused.delete(pd.name);
    const override = overrides.get(pd.name);
    let program: string;
    if (override !== undefined) {
      if (!existsSync(override)) {
        throw new IpcError("InvalidSystem", `--image ${pd.name}=${override}: no such file`, { operation: "run", pd: pd.name });
      }
      program = override;
    } else {
      const stem = basename(pd.program, extname(pd.program));
      const tried = imageExtensions.map((ext) => join(dir, stem + ext));
      const found = tried.find((path) => existsSync(path));
      if (found === undefined) {
        const where = pd.location === undefined ? "" : `${pd.location.file}:${pd.location.line}:${pd.location.column}: `;
        throw new IpcError(
          "InvalidSystem",
          `${where}error: no program for PD '${pd.name}' (program_image '${pd.program}'); tried:\n${tried.map((t) => `  ${t}`).join("\n")}\n` +
            `  (or pass --image ${pd.name}=PATH)`,
          { operation: "run", pd: pd.name },
        );
      }
      program = found;
    }
    return { ...pd, program, children: pd.children?.map(resolvePd) };
  };
  const protectionDomains = system.protectionDomains.map(resolvePd);
  if (unused.size > 0) {
    throw new IpcError("InvalidArgument", `--image: no PD named ${[...unused].map((n) => `'${n}'`).join(", ")} in ${systemFile}`, {
      operation: "--image",
    });
  }
  // prefill_path is relative to the .system file, like program_image.
  const memoryRegions = system.memoryRegions?.map((r) =>
    r.prefillPath === undefined || isAbsolute(r.prefillPath) ? r : { ...r, prefillPath: join(dir, r.prefillPath) },
  );
  return { ...system, protectionDomains, memoryRegions };
}
