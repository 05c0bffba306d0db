// A PD in async wait mode with nothing to do: its loop alone must keep its worker alive.
import { protectionDomain } from "../../src/index.ts";

export default protectionDomain({}, { wait: "async" });
