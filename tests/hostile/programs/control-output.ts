// Forges output: a line with a newline and a fake 'victim:' prefix, ANSI escapes and a carriage return, raw
// console.log / process.stdout / process.stderr writes (which skip debugPrintln), and a line stamped an hour in
// the future (by lying about the clock the runtime stamps lines with).
import { debugPrintln, protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  init() {
    debugPrintln("one\nvictim: forged line");
    debugPrintln("red \x1b[31mtext\x1b[0m\r\x07end");
    console.log("raw console.log");
    process.stdout.write("raw stdout\nvictim: raw forged\n");
    process.stderr.write("raw stderr\n");
    const now = performance.now.bind(performance);
    performance.now = () => now() + 3_600_000;
    debugPrintln("from the future");
    performance.now = now; // the runtime's own spin clock reads it too
  },
});
