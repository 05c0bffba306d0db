/**
 * A worker PD's link to the kernel for syscalls and mail (protocol/syscall.ts): a MessagePort nothing else
 * listens on, read with `receiveMessageOnPort` so a PD that never returns to its event loop can still use it.
 */

import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { deserializeError, IpcError } from "../errors.ts";
import { CONTROL_I32, KERNEL_BELL_I32 } from "../protocol/layout.ts";
import type { KernelMail, KernelToPd, SyscallRequest } from "../protocol/syscall.ts";
import type { KernelLink } from "../ipc/client.ts";
import { SyncWait, type WaitOptions } from "../shm/wait.ts";

export class WorkerKernelLink implements KernelLink {
  readonly pdName: string;
  readonly doorbell: Int32Array;
  readonly wait: WaitOptions;
  private readonly port: MessagePort;
  private readonly control: Int32Array;
  private readonly syncWait: SyncWait;
  private readonly onStop: () => never;
  private seq = 0;
  private mailSeen = 0;
  private readonly mail: KernelMail[] = [];

  private readonly kernelBell: Int32Array;

  constructor(pdName: string, port: MessagePort, control: Int32Array, kernelBell: Int32Array, doorbell: Int32Array, wait: WaitOptions, onStop: () => never) {
    this.pdName = pdName;
    this.kernelBell = kernelBell;
    this.port = port;
    this.control = control;
    this.doorbell = doorbell;
    this.wait = wait;
    this.syncWait = new SyncWait({ spinMicros: wait.spinMicros, sliceMs: wait.sliceMs });
    this.onStop = onStop;
  }

  syscall(request: SyscallRequest, transfer: readonly ArrayBuffer[] = []): unknown {
    const seq = (this.seq = (this.seq + 1) | 0);
    const previous = Atomics.load(this.control, CONTROL_I32.SYSCALL_DONE);
    this.port.postMessage({ ...request, seq }, transfer);
    Atomics.store(this.control, CONTROL_I32.SYSCALL_REQ, seq); // then the bell: the kernel reads the port when REQ moved
    Atomics.add(this.kernelBell, KERNEL_BELL_I32.BELL, 1);
    Atomics.notify(this.kernelBell, KERNEL_BELL_I32.BELL);
    // The kernel posts the reply, then stores SYSCALL_DONE = seq: once we see it, the reply is on the port.
    while (Atomics.load(this.control, CONTROL_I32.SYSCALL_DONE) !== seq) {
      if (!this.syncWait.waitWhile(this.control, CONTROL_I32.SYSCALL_DONE, previous, CONTROL_I32.SYSCALL_SLEEPING)) this.checkStop();
    }
    let reply: Extract<KernelToPd, { kind: "reply" }> | undefined;
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      const message = m.message as KernelToPd;
      if (message.kind === "reply") {
        if (message.seq === seq) reply = message;
      } else {
        this.mail.push(message);
      }
    }
    if (reply === undefined) {
      throw new IpcError("NotInitialized", `${request.op}: the kernel answered without a reply on the port`, { operation: request.op, pd: this.pdName });
    }
    if (!reply.ok) throw deserializeError(reply.error);
    return reply.value;
  }

  hasMail(): boolean {
    return this.mail.length > 0 || Atomics.load(this.control, CONTROL_I32.MAIL) !== this.mailSeen;
  }

  takeMail(): KernelMail[] {
    this.mailSeen = Atomics.load(this.control, CONTROL_I32.MAIL); // before draining: later mail bumps it again
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      const message = m.message as KernelToPd;
      if (message.kind !== "reply") this.mail.push(message); // a stale reply (none expected) is dropped
    }
    return this.mail.splice(0, this.mail.length);
  }

  checkStop(): void {
    if (Atomics.load(this.control, CONTROL_I32.STOP) !== 0) this.onStop();
  }
}
