// A child whose protected() throws: its fault goes to its parent.
import { protectionDomain } from "../../../src/index.ts";

export default protectionDomain({
  protected() {
    throw new Error("thrower: protected() fails on purpose");
  },
});
