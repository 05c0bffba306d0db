// Cap'n Proto over regions (src/codec/capnp.ts) with the real compiler: a message made by `capnp encode` is read
// by a PD on a worker thread, and a message a PD writes is read back by `capnp decode`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as capnp from "capnp-es";
import { capnpBytes, readCapnp, writeCapnp } from "../../src/codec/index.ts";
import { isIpcError } from "../../src/index.ts";
import { run } from "../helpers.ts";
import { Person } from "./capnp/person.js";

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "capnp");

function capnpTool(args: string[], input: string | Uint8Array): Buffer {
  const r = spawnSync("capnp", args, { cwd: schemaDir, input, timeout: 30_000 });
  if (r.error !== undefined) throw new Error(`the capnp compiler is needed (Debian package capnproto; .ci/run installs it): ${r.error.message}`);
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

describe("Cap'n Proto in regions", () => {
  it("a message from `capnp encode` is read by a PD; one the PD writes is read by `capnp decode`", async () => {
    const encoded = capnpTool(["encode", "person.capnp", "Person"], '(name = "Ada Lovelace", age = 36, emails = ["ada@example.org", "countess@example.org"])');
    const region = new SharedArrayBuffer(4096);
    const bytes = new Uint8Array(region);
    new DataView(region).setUint32(0, encoded.length, true); // the framing of src/codec/capnp.ts: length, 0, message
    bytes.set(encoded, 8);
    await using booted = await run(
      {
        protectionDomains: [
          { name: "reader", priority: 1, program: "programs/codec/capnp-pd.ts", maps: [{ mr: "msgs", vaddr: 0x400_0000, perms: "rw", setvarVaddr: "msgs" }] },
        ],
        channels: [],
        memoryRegions: [{ name: "msgs", size: 4096 }],
      },
      "workers",
      // Confined: readCapnp/writeCapnp work over the guarded region view; capnp-es is a package the boot allows.
      { regions: { msgs: region }, packages: ["capnp-es"] },
    );
    assert.deepEqual(booted.system.faults, []);
    assert.equal(booted.of("reader")[0], "read name=Ada Lovelace age=36 emails=ada@example.org,countess@example.org");
    assert.match(booted.of("reader")[1] ?? "", /^wrote \d+ bytes$/);
    const decoded = capnpTool(["decode", "--short", "person.capnp", "Person"], capnpBytes(bytes, 2048)).toString().trim();
    assert.equal(decoded, '(name = "From PD", age = 37, emails = ["pd@isokit.dev"])');
  });

  it("round-trips through a SharedArrayBuffer and refuses framing a hostile writer made impossible", () => {
    const region = new Uint8Array(new SharedArrayBuffer(1024));
    const message = new capnp.Message();
    const person = message.initRoot(Person);
    person.name = "x";
    const used = writeCapnp(region, 64, message);
    assert.equal(readCapnp(region, 64).getRoot(Person).name, "x");
    const refused = (patch: () => void, offset = 64): string => {
      const saved = region.slice();
      patch();
      try {
        readCapnp(region, offset);
        return "ok";
      } catch (error) {
        return isIpcError(error) ? error.code : String(error);
      } finally {
        region.set(saved);
      }
    };
    const dv = new DataView(region.buffer);
    assert.equal(refused(() => { dv.setUint32(64, 4096, true); }), "InvalidMessage", "longer than the region");
    assert.equal(refused(() => { dv.setUint32(64, used - 8 - 8, true); }), "InvalidMessage", "shorter than its segments");
    assert.equal(refused(() => { dv.setUint32(72, 100_000, true); }), "InvalidMessage", "too many segments");
    assert.equal(refused(() => { dv.setUint32(76, 1000, true); }), "InvalidMessage", "a segment larger than the message");
    assert.equal(refused(() => undefined, 60), "InvalidMemoryRegion", "a misaligned offset");
    assert.equal(refused(() => undefined, 1020), "InvalidMemoryRegion", "no room for a header");
    assert.throws(() => writeCapnp(new Uint8Array(new SharedArrayBuffer(16)), 0, message), (e) => isIpcError(e, "MessageTooLarge"));
  });
});
