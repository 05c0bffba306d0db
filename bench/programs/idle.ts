// The smallest PD: boot.10pd measures boot to every init() done.
import { protectionDomain } from "../../src/index.ts";

export default protectionDomain({ init() {}, notified() {} });
