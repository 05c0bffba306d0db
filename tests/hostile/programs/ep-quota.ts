// Finding 17: a PD ("hog") creates as many capabilities as it can (derive in a loop, up to 100,000), then exits
// (its init throws). Its capabilities must all go; an honest PD still works. ctl words (set by the test):
// 0 = go (the test has read the kernel's capability count), 1 = the hog is gone, check.
import { createEndpoint, debugPrintln, pdName, processId, protectionDomain, Rights } from "../../../src/index.ts";
import { codeOf, ctl, waitWord } from "./ep-common.ts";

export const WANTED = 100_000;

function hog(): void {
  if (!waitWord(ctl(), 0, 30_000)) debugPrintln("never told to go");
  let own = createEndpoint();
  let n = 0;
  let stop = "none";
  for (; n < WANTED; n++) {
    try {
      if (n % 1000 === 999) own = createEndpoint(); // a fresh object now and then: never out of generations
      own.cap.derive(Rights.SEND);
    } catch (error) {
      stop = codeOf(error);
      break;
    }
  }
  debugPrintln(`derived ${n} then ${stop}`);
  throw new Error("the hog exits holding everything it made");
}

function honest(): void {
  processId("hog");
  debugPrintln("ready");
  if (!waitWord(ctl(), 1, 60_000)) debugPrintln("never told to check");
  try {
    const { cap } = createEndpoint();
    const child = cap.derive(Rights.SEND);
    child.close();
    cap.close();
    debugPrintln(`works: pid ${processId("honest")}`);
  } catch (error) {
    debugPrintln(`fails: ${codeOf(error)}`);
  }
}

export default protectionDomain({
  init() {
    if (pdName() === "hog") hog();
    else honest();
  },
});
