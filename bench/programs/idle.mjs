// The smallest PD, in plain JavaScript against the compiled package: boot.10pd measures the production
// path (no TypeScript loader in the workers).
import { protectionDomain } from "../../dist/index.js";

export default protectionDomain({ init() {}, notified() {} });
