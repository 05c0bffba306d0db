// Reads the Person the host put in region "msgs" at offset 0 (made by the real `capnp encode`), and writes one
// at offset 2048 for the host to check with `capnp decode`.
import * as capnp from "capnp-es";
import { debugPrintln, memoryRegion, protectionDomain } from "../../../src/index.ts";
import { readCapnp, writeCapnp } from "../../../src/codecs.ts";
import { Person } from "../../codec/capnp/person.js";

export default protectionDomain({
  init() {
    const region = memoryRegion("msgs");
    const person = readCapnp(region.bytes as Uint8Array, 0).getRoot(Person);
    debugPrintln(`read name=${person.name} age=${person.age} emails=${[...person.emails].join(",")}`);
    const message = new capnp.Message();
    const out = message.initRoot(Person);
    out.name = "From PD";
    out.age = person.age + 1;
    const emails = out._initEmails(1);
    emails.set(0, "pd@isokit.dev");
    debugPrintln(`wrote ${writeCapnp(region.writableBytes(), 2048, message)} bytes`);
  },
});
