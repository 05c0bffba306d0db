// Calls each server on its channels 1.. in turn with label 1 (the bomb), and the honest echo server on
// channel 9 (label 0) before the first and after each bomb; prints what each call got.
import { Channel, debugPrintln, getMr, IpcError, MessageInfo, pdName, protectionDomain } from "../../../src/index.ts";

const ECHO = new Channel(9);

function call(channel: Channel, label: number): string {
  try {
    channel.ppcall(new MessageInfo(label, 0));
    return `answered ${getMr(0)}`;
  } catch (error) {
    return error instanceof IpcError ? error.code : String(error);
  }
}

export default protectionDomain({
  init() {
    const bombs = pdName() === "patient" ? ["slow"] : ["loop", "heap", "stack"];
    if (pdName() !== "patient") debugPrintln(`echo -> ${call(ECHO, 0)}`);
    bombs.forEach((bomb, i) => {
      debugPrintln(`${bomb} -> ${call(new Channel(i + 1), 1)}`);
      if (pdName() !== "patient") debugPrintln(`echo -> ${call(ECHO, 0)}`);
    });
  },
});
