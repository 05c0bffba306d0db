// The scheduler server: threads by priority, round-robin within the highest priority (label 0x1234).
import { debugPrintln, protectionDomain } from "isokit/microkit";
import { serveL4 } from "isokit/l4";
import { SCHED_ADD, SCHED_NEXT, SCHED_REMOVE, Scheduler } from "./services.ts";

const threads: { tid: number; priority: number; timeslice: number }[] = [];

const dispatch = serveL4(
  Scheduler.handle(({ op, tid, priority, timeslice }) => {
    switch (op) {
      case SCHED_ADD:
        threads.push({ tid, priority, timeslice });
        debugPrintln(`add thread ${tid} at priority ${priority}`);
        return { tid, timeslice };
      case SCHED_REMOVE: {
        const i = threads.findIndex((t) => t.tid === tid);
        if (i < 0) throw new Error(`no thread ${tid}`);
        threads.splice(i, 1);
        return { tid, timeslice: 0 };
      }
      case SCHED_NEXT: {
        const top = Math.max(...threads.map((t) => t.priority));
        const i = threads.findIndex((t) => t.priority === top);
        if (i < 0) return { tid: 0, timeslice: 0 };
        const [next] = threads.splice(i, 1);
        threads.push(next!); // to the back of its priority's round
        return { tid: next!.tid, timeslice: next!.timeslice };
      }
      default:
        throw new Error(`unknown op ${op}`);
    }
  }),
);

export default protectionDomain({
  protected: (channel, info) => dispatch(channel, info),
});
