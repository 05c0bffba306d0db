import { protectionDomain } from "../../src/index.ts";

export default protectionDomain({
  init() {
    throw new TypeError("init failed on purpose");
  },
});
