// A server of one L4 service (serveL4) and of lends of one layout (acceptLend) over a region it maps read-only.
import { acceptLend, MessageInfo, memoryRegion, protectionDomain, serveL4, setMr } from "../../../src/index.ts";
import { Add, Counter, NOT_A_LEND, SERVER_END } from "./l4-shared.ts";

const dispatch = serveL4(Add.handle(({ a, b }) => ({ sum: a + b })));

export default protectionDomain({
  protected(channel, info) {
    if (channel.index === SERVER_END.HOSTILE_L4 || channel.index === SERVER_END.HONEST_L4) return dispatch(channel, info);
    const count = acceptLend(Counter, memoryRegion("lent"), info, (view) => view.count);
    if (count === null) return new MessageInfo(NOT_A_LEND, 0);
    setMr(0, count);
    return new MessageInfo(0, 1);
  },
});
