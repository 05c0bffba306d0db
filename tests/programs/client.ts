// Test client (priority 100): end 13 (pp to the server's 37) and end 14 (no pp, server's 38).
// What it does is chosen by its PD name, so one program serves every scenario.
import { Channel, debugPrintln, getMr, IpcError, MessageInfo, pdName, protectionDomain, setMr } from "../../src/index.ts";
import { Label } from "./server.ts";

const SERVER = new Channel(13);
const SERVER_SIDE = new Channel(14);

function report(what: string, error: unknown): void {
  if (error instanceof IpcError) debugPrintln(`${what} -> ${error.code}: ${error.message}`);
  else debugPrintln(`${what} -> ${String(error)}`);
}

const scenarios: Record<string, () => void> = {
  multiply() {
    setMr(0, 6);
    setMr(1, 7);
    const reply = SERVER.ppcall(new MessageInfo(Label.MULTIPLY, 2));
    debugPrintln(`reply label=${reply.label} count=${reply.count} MR0=${getMr(0)}`);
  },
  beyond() {
    for (let i = 0; i < 4; i++) setMr(i, 11 * (i + 1));
    const reply = SERVER.ppcall(new MessageInfo(Label.SHOW_BEYOND_COUNT, 2));
    debugPrintln(`reply count=${reply.count} MR0=${getMr(0)} MR1=${getMr(1)}`);
  },
  throws() {
    for (let i = 0; i < 2; i++) {
      try {
        SERVER.ppcall(new MessageInfo(Label.THROW, 0));
        debugPrintln("no error");
      } catch (error) {
        report(`call ${i}`, error);
      }
    }
    try {
      SERVER.notify();
    } catch (error) {
      report("notify after death", error);
    }
  },
  exits() {
    try {
      SERVER.ppcall(new MessageInfo(Label.EXIT, 0));
      debugPrintln("no error");
    } catch (error) {
      report("call", error);
    }
  },
  coalesce() {
    SERVER.ppcall(new MessageInfo(Label.NOTIFY_MANY, 0));
    debugPrintln("call returned");
  },
  deferred() {
    SERVER.ppcall(new MessageInfo(Label.DEFERRED, 0));
    debugPrintln("call returned");
    const reply = SERVER.ppcall(new MessageInfo(Label.DEFERRED_TWICE, 0));
    debugPrintln(`second deferred refused: ${reply.label === 1}`);
  },
  invalid() {
    try {
      new Channel(5).notify();
    } catch (error) {
      report("notify 5", error);
    }
    try {
      SERVER_SIDE.ppcall(new MessageInfo(0, 0));
    } catch (error) {
      report("ppcall 14", error);
    }
    try {
      new Channel(62);
    } catch (error) {
      report("Channel(62)", error);
    }
    try {
      new MessageInfo(0, 65);
    } catch (error) {
      report("MessageInfo count 65", error);
    }
    try {
      setMr(64, 1);
    } catch (error) {
      report("setMr(64)", error);
    }
  },
};

export default protectionDomain({
  init() {
    const scenario = scenarios[pdName()];
    if (scenario === undefined) throw new Error(`no scenario named ${pdName()}`);
    scenario();
  },
  notified(channels) {
    debugPrintln(`notified ${channels.toString()}`);
  },
});
