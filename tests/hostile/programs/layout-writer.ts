// The honest client: writes GUEST once in its own region and tells the server.
import { Channel, memoryRegion, protectionDomain } from "../../../src/index.ts";
import { GUEST, Name, VALUE_AT } from "./layout-names.ts";

export default protectionDomain({
  init() {
    Name.view(memoryRegion("mine").writableBytes(), VALUE_AT).$set({ name: GUEST });
    new Channel(0).notify();
  },
});
