// A restartable PD at both ends of the async channels of async-sink: every generation counts itself in the
// region "gen", sends "g<generation>" on "up" and notifies the sink (channel 1). Its protected() throws on
// label 1 (the sink's call that restarts it) and on label 0 prints what "down" holds.
import { asyncConsumer, asyncProducer, Channel, debugPrintln, isIpcError, memoryRegion, MessageInfo, protectionDomain } from "../../../src/index.ts";

let generation = 0;

export default protectionDomain({
  init() {
    const bytes = memoryRegion("gen").writableBytes();
    generation = bytes[0] = (bytes[0] ?? 0) + 1;
    asyncProducer("up").trySend(new TextEncoder().encode(`g${generation}`));
    new Channel(1).notify();
  },
  protected(_channel, info) {
    if (info.label === 1) throw new Error(`asked to fail in generation ${generation}`);
    const got: string[] = [];
    try {
      for (let m = asyncConsumer("down").tryReceive(); m !== undefined; m = asyncConsumer("down").tryReceive()) got.push(new TextDecoder().decode(m));
    } catch (error) {
      got.push(isIpcError(error) ? error.code : String(error));
    }
    debugPrintln(`generation ${generation} got ${got.join(", ")} on down`);
    return new MessageInfo(0, 0);
  },
});
