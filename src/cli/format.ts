/** Terminal formatting shared by the commands. picocolors prints plain text when output is piped. */

import pc from "picocolors";

/** Colours the severity of a `file:line:col: error: message` line. */
export function colourDiagnostic(line: string): string {
  return line.replace(/: (error|warning): /, (_m, sev: string) => `: ${sev === "error" ? pc.red(pc.bold(sev)) : pc.yellow(pc.bold(sev))}: `);
}
