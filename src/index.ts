/**
 * Every public name of isokit in one module, for the repository's own tests, examples and benchmarks, which
 * import the sources by path. The package does not export it: users import the module of each concept
 * (`isokit`, `isokit/microkit`, `isokit/endpoints`, ... — see src/isokit.ts and package.json "exports").
 *
 * The one place that uses `export *`: this module is by construction the union of the entry modules, each of
 * which lists its names explicitly, so no name is listed twice and a value is the same binding whichever
 * module it came from (tsc refuses two entry modules exporting the same name).
 */

export * from "./isokit.ts";
export * from "./microkit.ts";
export * from "./endpoints.ts";
export * from "./regions.ts";
export * from "./layouts.ts";
export * from "./streams.ts";
export * from "./l4.ts";
export * from "./codecs.ts";
export * from "./compat.ts";
