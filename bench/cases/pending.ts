// Cases of the full suite whose feature has not landed yet, in one place, so the table and the JSON list them.
// To build one: write its case (same id) in a case module listed in index.ts and delete its line here (a
// runnable case with the same id takes this row's place even before, see `registry` in ../harness.ts).
// ppcall.hot, ppcall.cold, notify.hot and boot.10pd are built: see ppcall.ts.
import type { SkippedCase } from "../harness.ts";

// Every case of the suite is built now; a new case whose feature is not yet built goes here as
// `{ id, skipped: "feature not built yet" }`.
const cases: readonly SkippedCase[] = [];

export default cases;
