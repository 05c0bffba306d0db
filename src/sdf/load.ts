/** Reads and parses a `.system` file; the one place in src/sdf that touches the file system. */

import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parseSystem, type ParseOptions, type ParseResult } from "./parse.ts";

export interface LoadOptions extends Omit<ParseOptions, "prefillSize"> {
  /**
   * Where `prefill_path` files are looked for, in order (Microkit's search paths). Default: the directory
   * of the `.system` file, where a missing file is only a warning. A `prefill_path` that is absolute is used
   * as written.
   */
  readonly searchPaths?: readonly string[] | undefined;
}

export function loadSystemFile(path: string, displayName = path, options: LoadOptions = {}): ParseResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return {
      ok: false,
      diagnostics: [
        {
          severity: "error",
          message: `cannot read: ${error instanceof Error ? error.message : String(error)}`,
          location: { file: displayName, line: 1, column: 1 },
        },
      ],
    };
  }
  return parseSystem(text, displayName, {
    config: options.config,
    prefillSize: prefillSizer(options.searchPaths ?? [dirname(path)]),
    // Without explicit search paths a missing file may be a build output not made yet (see ParseOptions).
    missingPrefill: options.searchPaths === undefined ? "warning" : "error",
  });
}

/** The size of the first regular file called `name` in `searchPaths`, as Microkit searches its paths. */
export function prefillSizer(searchPaths: readonly string[]): (name: string) => number | undefined {
  return (name) => {
    for (const candidate of isAbsolute(name) ? [name] : searchPaths.map((dir) => join(dir, name))) {
      try {
        const stat = statSync(candidate);
        if (stat.isFile()) return stat.size;
      } catch {
        // Not here: try the next search path.
      }
    }
    return undefined;
  };
}
