// Sits in a native call for seconds: worker.terminate() cannot interrupt native code (it stops JavaScript only).
import { pbkdf2Sync } from "node:crypto";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    debugPrintln("entering the native call");
    pbkdf2Sync("isokit", "salt", 6_000_000, 64, "sha512"); // ~10 s of native code here
  },
});
