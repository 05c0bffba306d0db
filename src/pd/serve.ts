/**
 * `serve(cap, handler)`: an endpoint served by the PD's own loop, so a server needs no `for (;;) replyRecv`
 * of its own (which, written in `init()`, never lets init() return: boot waits its init timeout and the PD
 * never counts as idle).
 *
 * A program calls `serve` from any entry point, usually `init()`; from the moment that entry point returns,
 * the PD's loop takes the endpoint's messages one at a time, between its channels' events (round robin: one
 * message per served endpoint per pass, then the channels again), and answers each call with what the
 * handler returned. The PD sleeps only after a last look at every served endpoint made once its SLEEPING word
 * is set, so a sender that publishes after that look sees SLEEPING and rings: no wake-up is lost, and while
 * the PD sleeps there it counts as idle for `whenIdle()`.
 *
 * The handler runs as an entry point of its own (`serve`): what it throws faults the PD as a `protected()`
 * that throws would (its parent's `fault()` decides, if it has one). Worker mode only, like every endpoint.
 */

import { IpcError, isIpcError } from "../errors.ts";
import { Capability } from "../ipc/capability.ts";
import type { IpcClient, Received } from "../ipc/client.ts";
import { Rights } from "../caps/token.ts";
import { currentPd, type PdContext } from "./context.ts";

/** What a handler returns: the reply's bytes (at most 64), optionally with a label; nothing for an empty reply. */
export type ServeReply = Uint8Array | { readonly data: Uint8Array; readonly label?: number } | undefined;

/**
 * Handles one message taken from a served endpoint. For a call, the return value is the reply; for a plain
 * send it is ignored. In a `wait: "async"` PD it may return a promise, which the loop awaits before it takes
 * the next message.
 */
export type ServeHandler = (message: Received) => ServeReply | Promise<ServeReply>;

interface Served {
  readonly cap: Capability;
  readonly handler: ServeHandler;
}

/**
 * Serves the endpoint `cap` receives on (it needs RECEIVE) with `handler`, from the PD's loop, for the rest of
 * the PD's life or until `cap` is closed. One handler per endpoint.
 *
 * ```ts
 * export default protectionDomain({
 *   init() {
 *     const { cap } = createEndpoint();
 *     grantCap(cap, "client", Rights.SEND, { name: "echo" });
 *     serve(cap, (m) => m.data); // init() returns; the loop answers every call with its own bytes
 *   },
 * });
 * ```
 */
export function serve(cap: Capability, handler: ServeHandler): void {
  const pd = currentPd("serve");
  pd.ipcClient("serve"); // endpoints exist in worker mode only: NotInitialized elsewhere, before anything is kept
  if (!(cap instanceof Capability)) {
    throw new IpcError("InvalidCapability", "serve: not a capability (use the `cap` of createEndpoint, or one granted to this PD)", { operation: "serve" });
  }
  if ((cap.rights & Rights.RECEIVE) === 0) {
    throw new IpcError("PermissionDenied", `serve: capability ${cap.toString()} has no RECEIVE right`, { operation: "serve", capability: cap.token });
  }
  if (typeof handler !== "function") {
    throw new IpcError("InvalidArgument", "serve: the handler must be a function (message) => reply", { operation: "serve" });
  }
  let server = servers.get(pd);
  if (server === undefined) servers.set(pd, (server = new EndpointServer(pd)));
  server.add({ cap, handler });
}

/** The served endpoints of each running PD (one PD per worker; the WeakMap lets a finished one go). */
const servers = new WeakMap<PdContext, EndpointServer>();

/** The endpoint server of `pd`, if its program called `serve`: the PD's loop drives it. */
export function endpointServerOf(pd: PdContext): EndpointServer | undefined {
  return servers.get(pd);
}

/** A message taken in a last look before sleeping, handled by the next pass. */
interface Taken {
  readonly served: Served;
  readonly message: Received;
}

export class EndpointServer {
  private readonly pd: PdContext;
  private readonly served: Served[] = [];
  private readonly taken: Taken[] = [];
  /** What a last look ran into (an endpoint that went away, ...): thrown by the next `handle*`, so it faults
   * the PD from its loop rather than from the middle of the sleep decision. */
  private failure: Error | undefined;

  constructor(pd: PdContext) {
    this.pd = pd;
  }

  add(entry: Served): void {
    if (this.served.some((s) => s.cap.object === entry.cap.object)) {
      throw new IpcError("ResourceBusy", `serve: endpoint ${entry.cap.object} is already served by this PD`, { operation: "serve", endpoint: entry.cap.object });
    }
    this.served.push(entry);
  }

  /**
   * Looks once at every served endpoint and keeps what it takes for `handle` (at most one message each).
   * Returns true if anything was taken. This is the sleeper's last look: call it after SLEEPING is set.
   */
  look(): boolean {
    try {
      this.lookAtEach();
    } catch (error) {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
    }
    return this.taken.length > 0 || this.failure !== undefined;
  }

  private lookAtEach(): void {
    const client = this.pd.ipcClient("serve");
    for (let i = 0; i < this.served.length; ) {
      const served = this.served[i]!;
      if (served.cap.closedAt !== undefined) {
        this.served.splice(i, 1); // closed by the program, or by the runtime when the endpoint went away
        continue;
      }
      if (!this.taken.some((t) => t.served === served)) {
        const message = poll(client, served.cap);
        if (message !== undefined) this.taken.push({ served, message });
      }
      i++;
    }
  }

  /**
   * Takes (if `look` did not already) and handles one message per served endpoint. Returns true if it handled
   * any. Throws what a handler threw (the PD faults in `serve`).
   */
  handleSync(): boolean {
    const batch = this.next();
    for (const { served, message } of batch) {
      const reply = this.run(served, message);
      if (isPromiseLike(reply)) {
        throw new IpcError("EntryPointFailed", `serve: the handler of endpoint ${served.cap.object} returned a promise; a PD whose handlers await needs protectionDomain({...}, { wait: "async" })`, {
          operation: "serve",
          pd: this.pd.name,
        });
      }
      this.answer(message, reply);
    }
    return batch.length > 0;
  }

  /** As `handleSync`, awaiting a handler's promise before the next message (for `wait: "async"` PDs). */
  async handleAsync(): Promise<boolean> {
    const batch = this.next();
    for (const { served, message } of batch) {
      let reply: ServeReply;
      try {
        reply = await this.run(served, message);
      } catch (error) {
        throw this.threw(error);
      }
      this.answer(message, reply);
    }
    return batch.length > 0;
  }

  /** The messages to handle now: what the last look took, plus one more look. */
  private next(): Taken[] {
    this.look();
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
    return this.taken.splice(0);
  }

  private run(served: Served, message: Received): ServeReply | Promise<ServeReply> {
    try {
      return served.handler(message);
    } catch (error) {
      throw this.threw(error);
    }
  }

  /** A handler's failure, named as the entry point it ran in (as runtime.ts names the others). */
  private threw(error: unknown): IpcError {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new IpcError("EntryPointFailed", `serve: PD '${this.pd.name}' threw ${what}`, { operation: "serve", pd: this.pd.name }, { cause: error });
  }

  private answer(message: Received, reply: ServeReply): void {
    if (message.reply === undefined) return; // a send: nothing to answer
    const client = this.pd.ipcClient("serve");
    if (reply === undefined) client.reply(message.reply, EMPTY);
    else if (reply instanceof Uint8Array) client.reply(message.reply, reply);
    else client.reply(message.reply, reply.data, reply.label === undefined ? {} : { label: reply.label });
  }
}

const EMPTY = new Uint8Array(0);

/** One message waiting on `cap`, or undefined (a receive with timeout 0 is a poll). */
function poll(client: IpcClient, cap: Capability): Received | undefined {
  try {
    return client.receive(cap, { timeout: 0 });
  } catch (error) {
    if (isIpcError(error, "WouldBlock")) return undefined;
    throw error;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
