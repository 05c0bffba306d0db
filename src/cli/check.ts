/** `isokit check FILE...`: a summary of each valid system on stdout, or its located errors on stderr. */

import { readFileSync } from "node:fs";
import { relative } from "node:path";
import pc from "picocolors";
import { colourDiagnostic } from "./format.ts";
import { formatDiagnostic } from "../errors.ts";
import { parseSystem } from "../sdf/index.ts";
import { ExitCode, messageOf, type Io } from "./io.ts";
import { summarize } from "./summary.ts";

/** Exit 0 when every file is valid, 2 when one is invalid or cannot be read (the others are still checked). */
export function checkCommand(files: readonly string[], io: Io): number {
  let failed = false;
  for (const file of files) {
    const display = relative(process.cwd(), file) || file;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      io.err(`isokit: cannot read ${display}: ${messageOf(error)}`);
      failed = true;
      continue;
    }
    const result = parseSystem(text, display);
    if (!result.ok) {
      failed = true;
      for (const d of result.diagnostics) io.err(colourDiagnostic(formatDiagnostic(d)));
      continue;
    }
    for (const w of result.warnings) io.err(colourDiagnostic(formatDiagnostic(w)));
    if (files.length > 1) io.out(pc.bold(pc.underline(display)));
    for (const line of summarize(result.system)) io.out(line);
    io.out(`${display}: ${pc.green("ok")}`);
  }
  return failed ? ExitCode.usage : ExitCode.ok;
}
