// Compile-only checks of the public types, as Comlink's type-checks.ts: `npm run typecheck` (tsc --noEmit)
// compiles this file and nothing runs it. Each `@ts-expect-error` line must fail to compile: if a change lets
// it through, tsc reports the directive as unused. Imports are the package's entry modules, so what is
// checked is what `isokit/<subpath>` exports (tests/package/pack.test.ts checks the built declarations).
import { boot, IpcError, isIpcError, type ErrorCode, type RunningSystem, type SystemDescription } from "../../src/isokit.ts";
import { Channel, MessageInfo, protectionDomain, getMr, getMrBig, type ProtectionDomainProgram } from "../../src/microkit.ts";
import {
  call,
  callAsync,
  receive,
  send,
  sendAsync,
  serve,
  type Capability,
  type Received,
  type Reply,
  type ReplyCapability,
} from "../../src/endpoints.ts";
import { defineLayout, struct, f64, u64, string, type ValueOf } from "../../src/layouts.ts";
import { asyncProducer, HOST, type AsyncProducer } from "../../src/streams.ts";
import { sys_call } from "../../src/compat.ts";

// The exact-equality test of type-challenges: the generic T is what makes it exact (not mutual assignability).
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// ---- the booting thread
assertType<IsExact<ReturnType<typeof boot>, Promise<RunningSystem>>>();
export const description: SystemDescription = {
  protectionDomains: [{ name: "a", priority: 1, program: "./a.ts" }],
  channels: [{ ends: [{ pd: "a", id: 0 }, { pd: "a", id: 1 }] }],
};
// @ts-expect-error a PD needs a name, a priority and a program
export const missing: SystemDescription = { protectionDomains: [{ name: "a" }], channels: [] };

// ---- errors: the code is a literal union, and isIpcError narrows
export function codeOf(error: unknown): ErrorCode | undefined {
  if (isIpcError(error)) return error.code;
  return error instanceof IpcError ? error.code : undefined;
}
// @ts-expect-error no such code
export const notACode: ErrorCode = "Oops";

// ---- PD programs: entry points are typed, `this` is the object passed in
export const program: ProtectionDomainProgram = protectionDomain({
  calls: 0,
  protected(channel: Channel, info: MessageInfo): MessageInfo {
    this.calls++;
    return new MessageInfo(info.label, channel.index === 0 ? getMr(0) : 0);
  },
});
protectionDomain({
  // @ts-expect-error protected() must return a MessageInfo
  protected: () => 42,
});
assertType<IsExact<ReturnType<typeof getMrBig>, bigint>>();

// ---- endpoints: the shapes of what send, call and receive give back
assertType<IsExact<ReturnType<typeof send>, void>>();
assertType<IsExact<ReturnType<typeof call>, Reply>>();
assertType<IsExact<ReturnType<typeof sendAsync>, Promise<void>>>();
assertType<IsExact<ReturnType<typeof callAsync>, Promise<Reply>>>();
assertType<IsExact<ReturnType<typeof receive>, Received>>();
assertType<IsExact<Received["reply"], ReplyCapability | undefined>>();
export function servers(cap: Capability): void {
  serve(cap, (m) => m.data);
  serve(cap, (m) => ({ data: m.data, label: m.label + 1 }));
  serve(cap, () => undefined);
  serve(cap, async (m) => {
    await Promise.resolve();
    return m.data;
  });
  // @ts-expect-error a reply is bytes, not a number
  serve(cap, () => 42);
  // @ts-expect-error a capability's token is read-only
  cap.token = 0n;
}

// ---- layouts: values are typed from the declaration (64-bit integers as bigint)
const Sample = defineLayout(struct({ at: u64, value: f64, label: string(8) }));
type Sampled = Parameters<typeof Sample.toIpc>[0];
assertType<IsExact<Sampled["at"], bigint>>();
assertType<IsExact<Sampled["label"], string>>();
export const Point = struct({ x: f64, y: f64 });
assertType<IsExact<ValueOf<typeof Point>, { x: number; y: number }>>();
Sample.toIpc({ at: 1n, value: 2, label: "x" });
// @ts-expect-error `at` is a u64: a bigint, not a number
Sample.toIpc({ at: 1, value: 2, label: "x" });

// ---- streams and compat
assertType<IsExact<ReturnType<typeof asyncProducer>, AsyncProducer>>();
assertType<IsExact<typeof HOST, "@host">>();
assertType<IsExact<Parameters<typeof sys_call>, [cap: bigint, msg: Uint8Array, reply: Uint8Array]>>();
