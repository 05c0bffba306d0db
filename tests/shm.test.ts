// The shared-memory layer on its own: wait strategies, register copies, and what a receiver refuses.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { ChannelMemory, IpcBuffer, layout, ringDoorbell, sleepOnDoorbell, spinUntil, SyncWait } from "../src/internal.ts";
import { CLOCK_EVERY } from "../src/shm/wait.ts";
import { IpcError, MessageInfo } from "../src/index.ts";

describe("SyncWait", () => {
  test("returns false when a slice passes with no change", () => {
    const i32 = new Int32Array(new SharedArrayBuffer(8));
    assert.equal(new SyncWait({ spinMicros: 1, sliceMs: 5 }).waitWhile(i32, 0, 0, 1), false);
    assert.equal(i32[1], 0, "the sleeping flag is cleared after the sleep");
  });

  test("a change published without any notify (a lost wake-up) is seen after one slice", async () => {
    const i32 = new Int32Array(new SharedArrayBuffer(8));
    // The other thread stores the new value but never calls Atomics.notify and ignores the sleeping flag.
    const worker = new Worker(
      `const { workerData: i32 } = require("node:worker_threads");
       while (Atomics.load(i32, 1) === 0) {}  // wait until the main thread sleeps
       Atomics.store(i32, 0, 7);`,
      { eval: true, workerData: i32 },
    );
    const wait = new SyncWait({ spinMicros: 0, sliceMs: 20 });
    let changed = false;
    for (let slices = 0; slices < 500 && !changed; slices++) changed = wait.waitWhile(i32, 0, 0, 1);
    assert.equal(changed, true);
    assert.equal(Atomics.load(i32, 0), 7);
    await new Promise((r) => worker.once("exit", r));
  });
});

describe("the one wait/wake primitive", () => {
  test("a spin reads the clock only every CLOCK_EVERY rounds, never before the first CLOCK_EVERY", () => {
    const real = performance.now.bind(performance);
    let reads = 0;
    performance.now = () => {
      reads++;
      return real();
    };
    try {
      let rounds = 0;
      assert.equal(spinUntil(() => ++rounds === CLOCK_EVERY - 1, 1_000_000), true);
      assert.equal(reads, 0, "a peer that answers within the first rounds costs no clock read");
      rounds = 0;
      assert.equal(spinUntil(() => ++rounds === 3 * CLOCK_EVERY + 2, 1_000_000), true);
      assert.equal(reads, 3);
    } finally {
      performance.now = real;
    }
  });

  test("a doorbell is moved only when its owner sleeps: ringing an awake PD writes nothing", () => {
    const doorbell = new Int32Array(new SharedArrayBuffer(layout.DOORBELL_BYTES));
    assert.equal(ringDoorbell(doorbell), false, "an awake owner is not woken");
    assert.deepEqual([...doorbell.subarray(0, 2)], [0, 0], "awake: one load, no store");
    doorbell[layout.DOORBELL_I32.SLEEPING] = 1;
    // true tells the ringer it woke a sleeper, which will need a core (WaitConfig.yieldAfterWake)
    assert.equal(ringDoorbell(doorbell), true, "a sleeping owner is woken");
    assert.equal(doorbell[layout.DOORBELL_I32.RING], 1, "asleep: the bell moves");
  });

  test("sleepOnDoorbell: a last look that finds work does not sleep, and the sleeping flag is withdrawn either way", () => {
    const doorbell = new Int32Array(new SharedArrayBuffer(layout.DOORBELL_BYTES));
    let sawFlag = -1;
    assert.equal(sleepOnDoorbell(doorbell, () => ((sawFlag = doorbell[layout.DOORBELL_I32.SLEEPING]!), true), 10_000), true);
    assert.equal(sawFlag, 1, "the look comes after SLEEPING is set (the store-load pattern)");
    assert.equal(doorbell[layout.DOORBELL_I32.SLEEPING], 0);
    assert.equal(sleepOnDoorbell(doorbell, () => false, 5), false, "a slice that runs out with no ring");
    assert.equal(doorbell[layout.DOORBELL_I32.SLEEPING], 0);
  });
});

describe("IpcBuffer", () => {
  test("64-bit registers as numbers and bigints", () => {
    const ipc = new IpcBuffer();
    ipc.set(0, Number.MAX_SAFE_INTEGER);
    assert.equal(ipc.get(0), Number.MAX_SAFE_INTEGER);
    ipc.set(1, 0xffff_ffff_ffff_ffffn);
    assert.equal(ipc.getBig(1), 0xffff_ffff_ffff_ffffn);
    assert.throws(() => ipc.get(1), (e: unknown) => e instanceof IpcError && e.code === "InvalidArgument" && /use getMrBig/.test(e.message));
    assert.deepEqual([...ipc.bytes.subarray(0, 8)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00]);
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) assert.throws(() => { ipc.set(2, bad); }, /setMr: register 2 takes/);
    assert.throws(() => { ipc.set(2, 1n << 64n); }, /unsigned 64-bit/);
    assert.throws(() => { ipc.set(64, 1); }, /register index must be 0..63/);
  });
});

describe("ChannelMemory", () => {
  test("copies exactly `count` registers and the label, little-endian", () => {
    const buffer = ChannelMemory.create(9);
    const caller = new ChannelMemory(buffer, 0);
    const callee = new ChannelMemory(buffer, 1);
    const out = new IpcBuffer();
    for (let i = 0; i < 4; i++) out.set(i, 0x1_0000_0001 * (i + 1));
    caller.writeMessage(new MessageInfo(2 ** 52 - 1, 2), out);
    const bytes = new Uint8Array(buffer);
    assert.deepEqual([...bytes.subarray(layout.CHANNEL.MSG_COUNT, layout.CHANNEL.MSG_COUNT + 12)], [2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    assert.deepEqual([...bytes.subarray(layout.CHANNEL.MRS, layout.CHANNEL.MRS + 8)], [1, 0, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual([...bytes.subarray(layout.CHANNEL.MRS + 16, layout.CHANNEL.MRS + 24)], [0, 0, 0, 0, 0, 0, 0, 0], "register 2 was not copied");
    const into = new IpcBuffer();
    const info = callee.readMessage(into);
    assert.deepEqual(info, new MessageInfo(2 ** 52 - 1, 2));
    assert.equal(into.get(1), 0x2_0000_0002);
    assert.equal(callee.tag, 9);
  });

  test("a message with the tag read last gets the same MessageInfo; another tag a new one; the registers are copied every time", () => {
    const buffer = ChannelMemory.create(0);
    const caller = new ChannelMemory(buffer, 0);
    const callee = new ChannelMemory(buffer, 1);
    const out = new IpcBuffer();
    const into = new IpcBuffer();
    const read = (label: number, count: number, mr0: number): MessageInfo => {
      out.set(0, mr0);
      caller.writeMessage(new MessageInfo(label, count), out);
      const info = callee.readMessage(into);
      assert.ok(info !== undefined);
      assert.equal(into.get(0), mr0);
      return info;
    };
    const first = read(7, 1, 100);
    assert.equal(read(7, 1, 101), first, "same label and count: the same object");
    const other = read(7, 2, 102);
    assert.notEqual(other, first);
    assert.deepEqual([other.label, other.count], [7, 2]);
    const third = read(8, 2, 103);
    assert.deepEqual([third.label, third.count], [8, 2]);
    assert.deepEqual([first.label, first.count], [7, 1], "an object handed out is never changed");
  });

  test("refuses a count or label out of range, copying nothing", () => {
    const buffer = ChannelMemory.create(0);
    const u32 = new Uint32Array(buffer);
    const end = new ChannelMemory(buffer, 1);
    const into = new IpcBuffer();
    u32[layout.CHANNEL_I32.MSG_COUNT] = 65;
    assert.equal(end.readMessage(into), undefined);
    u32[layout.CHANNEL_I32.MSG_COUNT] = 1;
    u32[layout.CHANNEL_I32.MSG_LABEL_HI] = 0x10_0000; // label 2^52
    assert.equal(end.readMessage(into), undefined);
    assert.equal(into.get(0), 0);
  });

  test("the layout's offsets do not overlap and respect cache lines", () => {
    const offsets = Object.values(layout.CHANNEL);
    assert.equal(new Set(offsets).size, offsets.length);
    assert.equal(layout.CHANNEL.CALL_STATE % layout.LINE, 0);
    assert.equal(layout.CHANNEL.NOTIFY_TO_END0 % layout.LINE, 0);
    assert.equal(layout.CHANNEL.NOTIFY_TO_END1 % layout.LINE, 0);
    assert.equal(layout.CHANNEL.MRS % 8, 0);
    assert.ok(layout.CHANNEL.MRS + layout.MR_BYTES <= layout.CHANNEL_BYTES);
  });
});

describe("MessageInfo", () => {
  test("label up to 2^52-1, count up to 64", () => {
    assert.equal(new MessageInfo(2 ** 52 - 1, 64).count, 64);
    assert.throws(() => new MessageInfo(2 ** 52, 0), (e: unknown) => e instanceof IpcError && e.code === "InvalidArgument");
    assert.throws(() => new MessageInfo(-1, 0), (e: unknown) => e instanceof IpcError && e.code === "InvalidArgument");
    assert.throws(() => new MessageInfo(0, 65), (e: unknown) => e instanceof IpcError && e.code === "MessageTooLarge");
    assert.throws(() => new MessageInfo(0, 1.5), (e: unknown) => e instanceof IpcError && e.code === "InvalidArgument");
  });
});
