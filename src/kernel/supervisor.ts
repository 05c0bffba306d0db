/**
 * The restart policy of the top-level PDs: Erlang/OTP's supervisor, with the system as its only supervisor.
 * (A child PD is supervised by its parent's `fault()` instead; see docs/supervision.md.)
 *
 * When a supervised PD ends, `decide` says which PDs to restart (by the strategy), or that the supervisor gives
 * up (more than `intensity` restarts within `periodMs`) and the failure escalates: the kernel then stops every
 * supervised PD and reports it. The decision is pure bookkeeping; the worker system carries it out.
 */

import { IpcError } from "../errors.ts";

/** OTP's strategies: restart the PD that ended, every supervised PD, or it and those after it (description order). */
export const RESTART_STRATEGIES = ["one_for_one", "one_for_all", "rest_for_one"] as const;
export type RestartStrategy = (typeof RESTART_STRATEGIES)[number];

/**
 * OTP's restart types: `permanent` is always restarted, `transient` only when it faulted (not when its worker
 * exited by itself), `temporary` never.
 */
export const RESTART_TYPES = ["permanent", "transient", "temporary"] as const;
export type RestartType = (typeof RESTART_TYPES)[number];

export interface RestartPolicy {
  readonly strategy: RestartStrategy;
  /** Most restarts within `periodMs`; one more and the supervisor gives up (OTP's intensity). Default 1. */
  readonly intensity?: number | undefined;
  /** The window of `intensity`, ms (OTP's period). Default 5000. */
  readonly periodMs?: number | undefined;
  /** Restart type of each top-level PD by name; a PD not listed is `permanent`. */
  readonly children?: Readonly<Record<string, RestartType>> | undefined;
  /** What a restarted PD's regions hold: `keep` (default) what they held, `zero` all zeroes. */
  readonly regions?: "keep" | "zero" | undefined;
}

export const DEFAULT_INTENSITY = 1;
export const DEFAULT_PERIOD_MS = 5000;

export type Decision =
  | { readonly kind: "none" }
  | { readonly kind: "restart"; readonly pds: readonly string[] }
  | { readonly kind: "escalate"; readonly restarts: number; readonly periodMs: number };

export class Supervisor {
  readonly policy: RestartPolicy;
  private readonly order: readonly string[];
  private readonly intensity: number;
  private readonly periodMs: number;
  /** When each restart was decided (ms, `now()`), oldest first; only those within the period are kept. */
  private readonly restarts: number[] = [];
  private readonly now: () => number;
  private gaveUp = false;

  /** @param order the top-level PDs, in description order (rest_for_one restarts those after the one that ended) */
  constructor(policy: RestartPolicy, order: readonly string[], now: () => number = () => performance.now()) {
    this.policy = policy;
    this.order = order;
    this.intensity = policy.intensity ?? DEFAULT_INTENSITY;
    this.periodMs = policy.periodMs ?? DEFAULT_PERIOD_MS;
    this.now = now;
  }

  supervises(pd: string): boolean {
    return this.order.includes(pd);
  }

  typeOf(pd: string): RestartType {
    return this.policy.children?.[pd] ?? "permanent";
  }

  /**
   * Supervised PD `pd` ended: `faulted` if it faulted, else its worker exited by itself. Returns the PDs to
   * restart (it first, then the others of its group in description order), nothing, or escalation.
   */
  decide(pd: string, faulted: boolean): Decision {
    if (this.gaveUp || !this.supervises(pd)) return { kind: "none" };
    const type = this.typeOf(pd);
    if (type === "temporary" || (type === "transient" && !faulted)) return { kind: "none" };
    const now = this.now();
    while (this.restarts.length > 0 && now - this.restarts[0]! > this.periodMs) this.restarts.shift();
    if (this.restarts.length >= this.intensity) {
      this.gaveUp = true;
      return { kind: "escalate", restarts: this.restarts.length + 1, periodMs: this.periodMs };
    }
    this.restarts.push(now);
    const at = this.order.indexOf(pd);
    const group =
      this.policy.strategy === "one_for_one" ? [] : this.policy.strategy === "one_for_all" ? this.order : this.order.slice(at + 1);
    // The others of the group are stopped and restarted with it, except temporary ones, which are left alone.
    return { kind: "restart", pds: [pd, ...group.filter((other) => other !== pd && this.typeOf(other) !== "temporary")] };
  }
}

/**
 * Checks a policy against the system's PDs before boot.
 * @throws IpcError `InvalidArgument` naming the field that is wrong
 */
export function checkRestartPolicy(policy: RestartPolicy, topLevel: readonly string[], children: readonly string[]): RestartPolicy {
  checkPolicyFields(policy);
  for (const pd of Object.keys(policy.children ?? {})) {
    if (children.includes(pd)) failPolicy(`PD '${pd}' is a child PD: its parent's fault() restarts it, not the policy`);
    if (!topLevel.includes(pd)) failPolicy(`the system has no PD '${pd}'`);
  }
  return policy;
}

function failPolicy(why: string): never {
  throw new IpcError("InvalidArgument", `restart: ${why}`, { operation: "boot" });
}

/** Every field but the PD names: what a policy means without knowing the system. */
function checkPolicyFields(policy: RestartPolicy): void {
  const fail = failPolicy;
  // The policy may come from a command line or a JSON file: every field is checked as if it were unknown.
  const strategy: unknown = policy.strategy;
  if (typeof strategy !== "string" || !(RESTART_STRATEGIES as readonly string[]).includes(strategy)) {
    fail(`unknown strategy '${String(strategy)}' (known: ${RESTART_STRATEGIES.join(", ")})`);
  }
  if (policy.intensity !== undefined && (!Number.isSafeInteger(policy.intensity) || policy.intensity < 0)) {
    fail(`intensity must be a whole number of restarts, 0 or more (got ${String(policy.intensity)})`);
  }
  if (policy.periodMs !== undefined && (!Number.isSafeInteger(policy.periodMs) || policy.periodMs < 1)) {
    fail(`periodMs must be a positive integer (got ${String(policy.periodMs)})`);
  }
  const regions: unknown = policy.regions;
  if (regions !== undefined && regions !== "keep" && regions !== "zero") {
    fail(`regions must be 'keep' or 'zero' (got ${JSON.stringify(regions)})`);
  }
  for (const [pd, type] of Object.entries(policy.children ?? {}) as [string, unknown][]) {
    if (typeof type !== "string" || !(RESTART_TYPES as readonly string[]).includes(type)) fail(`PD '${pd}': unknown restart type '${String(type)}' (known: ${RESTART_TYPES.join(", ")})`);
  }
}

/**
 * Reads the `--restart` flag of the command: `strategy[,intensity=N][,period=MS][,regions=keep|zero]
 * [,PD=type...]`, e.g. `one_for_one,intensity=3,period=10000,logger=temporary`.
 * @throws IpcError `InvalidArgument` naming the part that is wrong
 */
export function parseRestartFlag(text: string): RestartPolicy {
  const [strategy = "", ...rest] = text.split(",");
  let intensity: number | undefined;
  let periodMs: number | undefined;
  let regions: "keep" | "zero" | undefined;
  const children: Record<string, RestartType> = {};
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new IpcError("InvalidArgument", `--restart: '${part}' is not key=value`, { operation: "restart" });
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === "intensity") intensity = Number(value);
    else if (key === "period") periodMs = Number(value);
    else if (key === "regions") regions = value as "keep" | "zero";
    else children[key] = value as RestartType;
  }
  const policy: RestartPolicy = { strategy: strategy as RestartStrategy, intensity, periodMs, regions, children };
  checkPolicyFields(policy); // a usage error, before the system is read; the PD names are checked at boot
  return policy;
}
