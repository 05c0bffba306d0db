/** Reads and parses a `.system` file; the one place in src/sdf that touches the file system. */

import { readFileSync } from "node:fs";
import { parseSystem, type ParseResult } from "./parse.ts";

export function loadSystemFile(path: string, displayName = path): ParseResult {
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
  return parseSystem(text, displayName);
}
