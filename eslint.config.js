// @ts-check
import eslint from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import { createNodeResolver, importX } from "eslint-plugin-import-x";

/**
 * The layers of src/ and what each may import: the one table of the architecture (the README's "Layout"
 * section points here). Deny by default: a layer imports its own modules, src/errors.ts, the layers
 * it lists, Node's built-in modules (`node:*`) if `node` is set, and the npm packages it lists, nothing else.
 * The rules below turn each row into no-restricted-imports; tests/architecture.test.ts checks every import of
 * src/ (dynamic ones included) against the same table, every directory of src/ has a row, and the table has no
 * cycle. import-x/no-cycle refuses a cycle between modules.
 *
 *   protocol <- shm <- caps <- ipc <- {pd, kernel} <- boot <- cli ;  sdf: protocol only
 *
 * src/*.ts are the package's entry modules (src/isokit.ts, src/microkit.ts, ...): they may import any layer and
 * no layer imports them. `boot` is the wiring above the kernel and the PD runtime (the in-process mode runs
 * both in one thread), so the kernel never imports `pd`.
 */
export const layers = {
  errors: { imports: [] }, // src/errors.ts, which every layer may import
  protocol: { imports: [] }, // the ABI: runtime-neutral, so a browser or network transport can use it
  shm: { imports: ["protocol"] },
  layout: { imports: ["protocol"] },
  codec: { imports: ["protocol"], packages: ["capnp-es", "msgpackr"] },
  caps: { imports: ["protocol", "shm"] },
  ipc: { imports: ["protocol", "shm", "caps"] },
  sdf: { imports: ["protocol"], node: true, packages: ["saxes"] },
  pd: { imports: ["protocol", "shm", "layout", "caps", "ipc"], node: true, packages: ["ses"] },
  kernel: { imports: ["protocol", "shm", "caps", "ipc", "sdf"], node: true, packages: ["esbuild", "hdr-histogram-js"] },
  boot: { imports: ["protocol", "shm", "caps", "ipc", "sdf", "kernel", "pd"], node: true },
  dashboard: { imports: ["protocol", "kernel"], node: true, packages: ["ws"] },
  cli: { imports: ["protocol", "sdf", "kernel", "boot", "dashboard"], node: true, packages: ["commander", "picocolors", "tsx"] },
};

/** @param {string} s */
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The no-restricted-imports patterns for the files of `layer` at `depth` directories below src/ (their
 * specifiers climb `depth` times to reach src/; the rule matches specifiers, not resolved paths, hence one
 * block per depth). src/errors.ts (`depth` 0) imports nothing at all.
 * @param {keyof typeof layers} layer
 * @param {number} depth
 */
function layerPatterns(layer, depth) {
  const row = /** @type {{ imports: string[], node?: boolean, packages?: string[] }} */ (layers[layer]);
  const name = depth === 0 ? "src/errors.ts" : `src/${layer}`;
  const packages = (row.packages ?? []).map(escape).join("|");
  const patterns = [
    {
      // Anything not relative: only a listed package or, where the row allows, a node: built-in.
      regex: `^(?!\\.|${row.node === true ? "node:|" : ""}${packages === "" ? "(?!)" : `(?:${packages})(?:/|$)`})`,
      message: `${name} may import no ${row.node === true ? "" : "Node module and no "}package outside its row of \`layers\` (eslint.config.js)`,
    },
  ];
  if (depth === 0) {
    patterns.push({ regex: "^\\.", message: `${name} imports no other module (the table \`layers\` in eslint.config.js)` });
  } else {
    const allowed = [layer, ...row.imports].map(escape).join("|");
    patterns.push({
      // Out of the layer: only into a listed layer or errors.ts, never an entry module nor above src/.
      regex: `^(?:\\.\\./){${depth}}(?!(?:${allowed})/|errors\\.ts$)`,
      message: `${name} may import ${row.imports.length === 0 ? "no other layer" : row.imports.join(", ")} and errors.ts (the table \`layers\` in eslint.config.js)`,
    });
  }
  return patterns.map((p) => ({ ...p, caseSensitive: true }));
}

/** @type {import("eslint").Linter.Config[]} */
const layerRules = [];
for (const layer of /** @type {(keyof typeof layers)[]} */ (Object.keys(layers))) {
  if (layer === "errors") {
    layerRules.push({ files: ["src/errors.ts"], rules: { "no-restricted-imports": ["error", { patterns: layerPatterns(layer, 0) }] } });
    continue;
  }
  for (const depth of [1, 2, 3]) {
    const files = [`src/${layer}/${"*/".repeat(depth - 1)}*.ts`];
    layerRules.push({ files, rules: { "no-restricted-imports": ["error", { patterns: layerPatterns(layer, depth) }] } });
  }
}

export default defineConfig(
  { ignores: ["dist/", "node_modules/", "bin/", "scratch/", "**/*.js", "**/*.mjs", "!eslint.config.js"] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unnecessary-condition": ["error", { allowConstantLoopConditions: true }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-extraneous-class": "off",
    },
  },
  {
    files: ["tests/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-floating-promises": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
    },
  },
  ...layerRules,
  {
    // Runtime cycles only: a type-only import is erased and cannot form one.
    files: ["src/**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts"] })],
    },
    rules: { "import-x/no-cycle": ["error", { ignoreExternal: true }] },
  },
);
