// A confined program importing a Node built-in by name: refused when the kernel compiles it, at this import.
import { readFileSync } from "node:fs";
import { debugPrintln, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    debugPrintln(readFileSync("/etc/hostname", "utf8").trim());
  },
});
