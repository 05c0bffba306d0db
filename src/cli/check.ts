/**
 * `isokit check FILE...`: a summary of each valid system on stdout, or its located errors on stderr.
 *
 * `checkSystemFile` is the library entry the command is built on (and Microkit's test suite is run through,
 * tests/sdf/microkit-suite.test.ts): a file, the kernel configuration to check it against, where prefill
 * files are looked for, and optionally the C preprocessor to run first (LionsOS writes `.system` templates).
 */

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import pc from "picocolors";
import { colourDiagnostic } from "./format.ts";
import { formatDiagnostic } from "../errors.ts";
import { ARCHES, kernelConfig, parseConfigSetting, parseSystem, prefillSizer, type Arch, type KernelConfigOverrides, type ParseResult } from "../sdf/index.ts";
import { ExitCode, messageOf, type Io } from "./io.ts";
import { summarize } from "./summary.ts";

export interface CheckOptions {
  /** Default aarch64, as Microkit's tool test suite. */
  readonly arch?: Arch | undefined;
  readonly config?: KernelConfigOverrides | undefined;
  /**
   * Where `prefill_path` files are looked for (Microkit's `--search-path`). Given, a file found in none of
   * them is an error, as in Microkit; not given, the `.system` file's directory is searched and a missing
   * file is a warning.
   */
  readonly searchPaths?: readonly string[] | undefined;
  /** Run the file through `cpp -P` first, with these include directories. */
  readonly cpp?: { readonly includeDirs: readonly string[] } | undefined;
}

/** The command line's options as `CheckOptions`, or the one-line reason they are not. */
export function checkOptions(raw: {
  readonly arch: string;
  readonly config: readonly string[];
  readonly searchPath: readonly string[];
  readonly cpp: boolean;
  readonly include: readonly string[];
}): { ok: true; options: CheckOptions } | { ok: false; reason: string } {
  const arch = ARCHES.find((a) => a === raw.arch);
  if (arch === undefined) return { ok: false, reason: `unknown --arch '${raw.arch}' (known: ${ARCHES.join(", ")})` };
  let config: KernelConfigOverrides = {};
  for (const setting of raw.config) {
    const parsed = parseConfigSetting(setting);
    if (!parsed.ok) return parsed;
    config = { ...config, ...parsed.overrides };
  }
  if (raw.include.length > 0 && !raw.cpp) return { ok: false, reason: "-I/--include needs --cpp" };
  return {
    ok: true,
    options: {
      arch,
      config,
      searchPaths: raw.searchPath.length === 0 ? undefined : raw.searchPath,
      cpp: raw.cpp ? { includeDirs: raw.include } : undefined,
    },
  };
}

/** Reads, (optionally) preprocesses, parses and checks one file; `display` is the name messages use. */
export function checkSystemFile(file: string, display: string, options: CheckOptions = {}): ParseResult {
  let text: string;
  try {
    text = readSystemText(file, options);
  } catch (error) {
    return { ok: false, diagnostics: [{ severity: "error", message: `cannot read: ${messageOf(error)}`, location: { file: display, line: 1, column: 1 } }] };
  }
  return checkSystemText(text, file, display, options);
}

/** The file's text, through `cpp` when asked; throws when it cannot be read. */
export function readSystemText(file: string, options: CheckOptions = {}): string {
  return options.cpp === undefined ? readFileSync(file, "utf8") : preprocess(file, options.cpp.includeDirs);
}

function checkSystemText(text: string, file: string, display: string, options: CheckOptions): ParseResult {
  return parseSystem(text, display, {
    config: kernelConfig(options.arch, options.config),
    prefillSize: prefillSizer(options.searchPaths ?? [dirname(file)]),
    // Microkit is always given its search paths (the build directory); without them a prefill file beside
    // the `.system` file may be a build output not made yet, so missing is a warning ('run' reads it at boot).
    missingPrefill: options.searchPaths === undefined ? "warning" : "error",
  });
}

/**
 * `cpp -P` (no line markers, which are not XML) with the file's directory and `includeDirs` on the include
 * path. Traditional mode keeps the XML's quotes and apostrophes out of C's tokeniser.
 */
function preprocess(file: string, includeDirs: readonly string[]): string {
  const args = ["-P", "-traditional-cpp", "-undef", "-nostdinc", "-I", dirname(file), ...includeDirs.flatMap((d) => ["-I", d]), file];
  const result = spawnSync("cpp", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) throw new Error(`cannot run cpp (is a C preprocessor installed?): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`cpp failed: ${result.stderr.trim().split("\n")[0] ?? `exit ${result.status}`}`);
  return result.stdout;
}

/** Exit 0 when every file is valid, 2 when one is invalid or cannot be read (the others are still checked). */
export function checkCommand(files: readonly string[], io: Io, options: CheckOptions = {}): number {
  let failed = false;
  for (const file of files) {
    const display = relative(process.cwd(), file) || file;
    let text: string;
    try {
      text = readSystemText(file, options);
    } catch (error) {
      io.err(`isokit: cannot read ${display}: ${messageOf(error)}`);
      failed = true;
      continue;
    }
    const result = checkSystemText(text, file, display, options);
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
