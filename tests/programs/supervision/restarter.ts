// A parent whose fault() restarts its child.
import { debugPrintln, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  fault(child, info) {
    debugPrintln(`fault from ${child.toString()} label=${info.label}; restart`);
    return "restart";
  },
});
