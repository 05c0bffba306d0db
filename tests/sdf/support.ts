// Shared by the tests/sdf suites: where the fixtures are and how a result reads.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatDiagnostic } from "../../src/errors.ts";
import { parseSystem, type ParseResult } from "../../src/sdf/index.ts";

export const fixtures = fileURLToPath(new URL("../fixtures/sdf/", import.meta.url));

export function systemFiles(dir: string): string[] {
  return readdirSync(join(fixtures, dir))
    .filter((f) => f.endsWith(".system"))
    .sort();
}

export function read(dir: string, file: string): string {
  return readFileSync(join(fixtures, dir, file), "utf8");
}

/** Parses a fixture under its bare file name, so messages read `name.system:line:col: ...`. */
export function parseFixture(dir: string, file: string): ParseResult {
  return parseSystem(read(dir, file), file);
}

/** Every diagnostic of a result (errors, or the warnings of a success), formatted. */
export function formatted(result: ParseResult): string[] {
  return (result.ok ? result.warnings : result.diagnostics).map(formatDiagnostic);
}
