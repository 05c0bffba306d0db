// The survivor at the other end of async-source's async channels ("up": source -> sink, "down": sink ->
// source). On each notification it prints what "up" holds. After the first, it makes the call that restarts
// the source, shows that the ends it held are dead, asks for "down" again and sends on it (the source's new
// generation does not exist yet); after the next (from the new generation), it calls the source, which prints
// what "down" holds.
import { asyncConsumer, asyncProducer, Channel, debugPrintln, isIpcError, MessageInfo, protectionDomain } from "../../../src/index.ts";

const SOURCE = new Channel(1);
let notifications = 0;

function code(body: () => unknown): string {
  try {
    return String(body());
  } catch (error) {
    return isIpcError(error) ? error.code : String(error);
  }
}

function drain(): string {
  const got: string[] = [];
  try {
    for (let m = asyncConsumer("up").tryReceive(); m !== undefined; m = asyncConsumer("up").tryReceive()) got.push(new TextDecoder().decode(m));
  } catch (error) {
    got.push(isIpcError(error) ? error.code : String(error));
  }
  return got.join(", ");
}

export default protectionDomain({
  notified() {
    notifications++;
    debugPrintln(`up: ${drain()}`);
    if (notifications !== 1) {
      SOURCE.ppcall(new MessageInfo(0, 0));
      return;
    }
    const up = asyncConsumer("up");
    const down = asyncProducer("down");
    debugPrintln(`call in flight -> ${code(() => SOURCE.ppcall(new MessageInfo(1, 0)))}`);
    debugPrintln(`the old up end -> ${code(() => up.tryReceive())}`);
    debugPrintln(`the old down end -> ${code(() => down.trySend(new TextEncoder().encode("lost")))}`);
    debugPrintln(`down, asked again -> ${code(() => asyncProducer("down").trySend(new TextEncoder().encode("for g2")))}`);
  },
});
