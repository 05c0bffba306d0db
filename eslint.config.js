// @ts-check
import eslint from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

// Dependencies point one way (docs/architecture in ../shared/style.md):
//   protocol <- shm <- caps <- ipc <- {pd, kernel} <- cli ;  sdf imports only protocol and errors.
// Each layer lists the layers it must NOT import; the rule below turns that into no-restricted-imports.
const forbidden = {
  protocol: ["shm", "caps", "ipc", "pd", "kernel", "cli", "sdf", "layout", "codec"],
  shm: ["caps", "ipc", "pd", "kernel", "cli", "sdf", "layout"],
  layout: ["shm", "caps", "ipc", "pd", "kernel", "cli", "sdf"],
  codec: ["shm", "caps", "ipc", "pd", "kernel", "cli", "sdf", "layout"],
  caps: ["ipc", "pd", "kernel", "cli", "sdf"],
  ipc: ["pd", "kernel", "cli", "sdf"],
  sdf: ["shm", "caps", "ipc", "pd", "kernel", "cli", "layout"],
  pd: ["kernel", "cli", "sdf"],
  kernel: ["cli"],
};

const layerRules = Object.entries(forbidden).map(([layer, banned]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: banned.map((b) => ({
          group: [`../${b}/*`, `../${b}`, `../../${b}/*`],
          message: `src/${layer} must not import src/${b}: dependencies point protocol <- shm <- caps <- ipc <- {pd, kernel} <- cli (sdf: protocol and errors only).`,
        })),
      },
    ],
  },
}));

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
);
