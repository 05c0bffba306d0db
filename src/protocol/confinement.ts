/**
 * What the kernel and a confined PD's worker agree on about ses (pd/confine.ts runs it, kernel/code-cache.ts makes
 * the V8 code cache of it): the wrapper ses's file is compiled in and the lockdown options. A cache made for
 * another source string is rejected by V8 (the worker then compiles ses from its source), so both sides take
 * them from here.
 */

/** How ses's file is compiled: its source inside this wrapper (CommonJS's own parameter list). */
export function sesScriptSource(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/**
 * The lockdown options of every confined worker (pd/confine.ts says why each): stacks stay readable for fault
 * reports, the host's console and process handlers are the kernel's, and an assignment that shadows a frozen
 * prototype property works for the few properties code commonly assigns (overrideTaming "min").
 */
export const LOCKDOWN_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  errorTaming: "unsafe",
  stackFiltering: "verbose",
  overrideTaming: "min",
  consoleTaming: "unsafe",
  errorTrapping: "none",
  unhandledRejectionTrapping: "none",
  domainTaming: "unsafe",
  evalTaming: "safe-eval",
});
