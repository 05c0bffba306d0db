// A PD that does nothing: for tests about the system around it.
import { protectionDomain } from "../../src/index.ts";

export default protectionDomain({});
