// A PD that posts garbage on its control port (parentPort), chosen by its name, then goes on as if nothing
// happened. The kernel must fault this PD alone: never throw out to the process, never obey it.
import { parentPort } from "node:worker_threads";
import { pdName, protectionDomain } from "../../../src/index.ts";

const GARBAGE: Record<string, () => unknown> = {
  "g-null": () => null,
  "g-number": () => 42,
  "g-array": () => ["fault", "init"],
  "g-fault-no-error": () => ({ type: "fault", entry: "init" }),
  "g-fault-bad-error": () => ({ type: "fault", entry: "init", error: "not a record" }),
  "g-unknown-type": () => ({ type: "grant-me-everything" }),
  "g-extra-key": () => ({ type: "loaded", __proto__hack: 1 }),
  "g-huge-entry": () => ({ type: "fault", entry: "x".repeat(1_000_000), error: { name: "Error", message: "m" } }),
  "g-number-type": () => ({ type: 7 }),
};

export default protectionDomain({
  init() {
    const make = GARBAGE[pdName()];
    if (make === undefined) throw new Error(`control-garbage: no garbage for PD '${pdName()}'`);
    parentPort?.postMessage(make());
  },
});
