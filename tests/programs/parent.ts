// A parent PD: its child's faults come to fault(). The verdict is chosen by the parent's name.
import { debugPrintln, pdName, protectionDomain } from "../../src/index.ts";

export default protectionDomain({
  fault(child, info) {
    const resume = pdName() === "parent-resume";
    debugPrintln(`fault from ${child.toString()} label=${info.label}; resume=${resume}`);
    return resume;
  },
});
