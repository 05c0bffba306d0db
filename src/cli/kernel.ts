/**
 * Which copy of the runtime boots the system. A PD program imports the runtime by a path of its own, and
 * the kernel must be the same copy (the PD's context and capability classes are per copy): in a checkout,
 * the examples and tests import `src/index.ts`, so `isokit run` boots with `src/boot` through tsx even
 * when the CLI itself runs from dist/; an installed package has dist/ alone and boots with it.
 */

import { existsSync } from "node:fs";
import type { boot as bootFunction } from "../boot/boot.ts";

export type Boot = typeof bootFunction;

const fromSource = import.meta.url.endsWith(".ts");
const checkoutKernel = new URL("../../src/boot/boot.ts", import.meta.url);

let tsxRegistered = fromSource;

/** Registers tsx in this thread once (the CLI running from src/ has it already). */
export async function registerTsx(): Promise<void> {
  if (tsxRegistered) return;
  const { register } = await import("tsx/esm/api");
  register();
  tsxRegistered = true;
}

export async function loadBoot(): Promise<Boot> {
  if (!fromSource && existsSync(checkoutKernel)) {
    await registerTsx();
    const kernel = (await import(checkoutKernel.href)) as { boot: Boot };
    return kernel.boot;
  }
  return (await import("../boot/boot.ts")).boot;
}
