/**
 * `startDashboard` as the `isokit` module exports it: the server (and with it `ws`) is loaded only when a
 * dashboard is started, so importing isokit costs nothing for it.
 */

import type { RunningSystem } from "../kernel/system.ts";
import type { Dashboard, DashboardOptions } from "./server.ts";

/**
 * Serves the live dashboard of `system` (docs/observability.md) until `close()`: bound to 127.0.0.1, on
 * `options.port` (0, the default: any free port; the URL says which). Boot the system with `trace`
 * (`DASHBOARD_TRACE` samples, `true` records every operation) for operations, latencies and the trace view.
 */
export async function startDashboard(system: RunningSystem, options: DashboardOptions = {}): Promise<Dashboard> {
  const server = await import("./server.ts");
  return server.startDashboard(system, options);
}
