// Cases of the full suite whose feature has not landed yet: listed, with the reason, so the table shows them.
import type { SkippedCase } from "../harness.ts";

const reason = (issue: string): string => `feature not built yet (${issue})`;

const cases: SkippedCase[] = [
  { id: "postmessage.pipelined", skipped: reason("async channels issue") },
  { id: "messageport.rtt", skipped: reason("async channels issue") },
  { id: "endpoint.call", skipped: reason("capabilities and endpoints issue") },
  { id: "endpoint.call.flooded", skipped: reason("capabilities and endpoints issue") },
  { id: "channel.64b", skipped: reason("async channels issue") },
  { id: "channel.64b.batched", skipped: reason("async channels issue") },
  { id: "channel.4k", skipped: reason("async channels issue") },
  { id: "region.1mib.rtt", skipped: reason("zero-copy issue") },
  { id: "postmessage.1mib.transfer", skipped: reason("zero-copy issue") },
  { id: "layout.codec", skipped: reason("zero-copy issue") },
  { id: "msgpackr.codec", skipped: reason("zero-copy issue") },
];

export default cases;
