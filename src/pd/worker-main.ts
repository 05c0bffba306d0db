/**
 * The start of a PD worker (after bin/pd-worker.cjs): load the program, check its default export, run the loop.
 * A trusted program is imported (compiled by kernel/loader.ts with this module, so both share one copy of the
 * runtime); a confined one is evaluated in a Hardened JavaScript compartment (pd/confine.ts) after the worker
 * is locked down. Everything the PD may reach arrives in `workerData` (see protocol/control.ts: PdBootData).
 */

import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { IpcError, serializeError } from "../errors.ts";
import type { PdBootData, PdToKernel } from "../protocol/control.ts";
import { assertLittleEndian } from "../protocol/layout.ts";
import { loadConfinedProgram, type SesFiles } from "./confine.ts";
import { setCurrentPd } from "./context.ts";
import { isProtectionDomainProgram } from "./program.ts";
import { guardRegions } from "./regions.ts";
import { WorkerPd } from "./worker-runtime.ts";

function post(message: PdToKernel): void {
  parentPort?.postMessage(message);
}

/**
 * Runs the PD. `api`: the confined runtime's API modules by name (kernel/loader.ts confinedRuntimeEntry; the
 * script bin/pd-worker.cjs ran exports it with this function); absent in a trusted PD's ES module runtime.
 */
export async function runWorker(api?: Readonly<Record<string, Record<string, unknown>>>): Promise<void> {
  const boot = workerData as PdBootData<MessagePort>;
  assertLittleEndian();
  let program: unknown;
  try {
    if (boot.confinedApi === undefined) program = ((await import(boot.moduleUrl)) as { default?: unknown }).default;
    else program = loadConfinedProgram(boot.name, boot.moduleUrl, apiModules(boot.confinedApi, api), sesFiles(boot));
  } catch (error) {
    post({ type: "fault", entry: "load", error: serializeError(error) });
    return;
  }
  if (!isProtectionDomainProgram(program)) {
    const error = new IpcError(
      "InvalidSystem",
      `program of PD '${boot.name}' (${boot.programUrl}) must default-export protectionDomain({...})`,
      { operation: "load", pd: boot.name },
    );
    post({ type: "fault", entry: "load", error: serializeError(error) });
    return;
  }
  // A confined program sees its regions only through views that check rights (pd/regions.ts).
  if (boot.confinedApi !== undefined) guardRegions();
  const mode = program.options.wait ?? boot.wait.mode;
  const pd = new WorkerPd({ ...boot, wait: { ...boot.wait, mode } }, program.handler);
  setCurrentPd(pd);
  post({ type: "loaded" });
  if (pd.isAsync) await pd.runAsync();
  else pd.runSync();
  post({ type: "stopped" });
}

/** ses's file and code cache, which the kernel gives every confined PD (protocol/control.ts). */
function sesFiles(boot: PdBootData<MessagePort>): SesFiles {
  if (boot.sesPath === undefined) throw new IpcError("InvalidSystem", `load: the kernel named no file of ses for confined PD '${boot.name}'`, { operation: "load", pd: boot.name });
  return { path: boot.sesPath, codeCache: boot.sesCodeCache };
}

/**
 * The namespace of each API module a confined program may import: `confinedApi` names each as `<runtime>#<spec>`,
 * a module of this worker's runtime script, exported in its `api`.
 */
function apiModules(confinedApi: Readonly<Record<string, string>>, api: Readonly<Record<string, Record<string, unknown>>> | undefined): Map<string, Record<string, unknown>> {
  return new Map(
    Object.entries(confinedApi).map(([spec, url]) => {
      const module = api?.[url.slice(url.indexOf("#") + 1)];
      if (module === undefined) throw new IpcError("InvalidSystem", `load: the confined runtime has no module '${spec}' (${url})`, { operation: "load" });
      return [spec, module] as const;
    }),
  );
}
