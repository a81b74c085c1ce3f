import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { applyKafkajsFastEncoding, crc32c, kafkajsOriginals } from "../src/kafkajs-patches/fast-encoding.ts";

// The patched encoders must put exactly kafkajs' own bytes on the wire.
describe("kafkajs fast encoding", () => {
  const original = kafkajsOriginals();
  const applied = applyKafkajsFastEncoding();

  it("applies in a fresh process (nothing produced yet)", () => {
    expect(applied).toBe(true);
  });

  it("CRC-32C: the check value and kafkajs' own result on every length 0..300 and large buffers", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    for (let n = 0; n <= 300; n++) {
      const b = randomBytes(n);
      expect(crc32c(b)).toBe(original.crc32C(b));
    }
    for (const n of [4096, 65_537, 1_000_003]) {
      const b = randomBytes(n);
      expect(crc32c(b)).toBe(original.crc32C(b));
    }
  });

  it("records: byte-identical to kafkajs' record v0 (headers as strings, buffers, arrays; null key and value)", async () => {
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    const patched = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
    expect(patched).not.toBe(original.record);
    const cases = [
      { key: randomBytes(32), value: randomBytes(3000), headers: { a: "1", "certstream.log_id": "x/y+z=" } },
      { key: null, value: null },
      { key: "k", value: "välue", headers: { h: ["1", "2"], b: randomBytes(5) } },
      {
        offsetDelta: 300,
        timestampDelta: 123_456_789,
        key: randomBytes(32),
        value: randomBytes(70_000),
        headers: {},
      },
    ];
    for (const c of cases) {
      const want = original.record(c).buffer;
      const got = patched(c).buffer;
      expect(Buffer.compare(got, want)).toBe(0);
    }
  });

  it("a whole produce request (3 partitions × 300 records): the same bytes as kafkajs' own encoding", () => {
    const script = fileURLToPath(new URL("./kafkajs-encode-request.ts", import.meta.url));
    const run = (mode: string) => execFileSync(process.execPath, [script, mode], { encoding: "utf8" }).trim();
    const stock = run("stock");
    expect(stock).toMatch(/^[0-9a-f]{64} \d+$/);
    expect(run("fast")).toBe(stock);
  });
});
