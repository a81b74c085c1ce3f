// Prints the SHA-256 of a kafkajs produce v3 request (3 partitions × 300 records with headers, fixed bytes and
// timestamps), encoded by kafkajs as is or with the ingester's fast encoding (argv[2] === "fast").
// Run as a child process by kafkajs-fast-encoding.test.ts: each way needs a process where kafkajs is fresh.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { applyKafkajsFastEncoding } from "../src/kafkajs-patches/fast-encoding.ts";

const require = createRequire(import.meta.url);
if (process.argv[2] === "fast" && !applyKafkajsFastEncoding()) throw new Error("fast encoding not applied");
const produce = require("kafkajs/src/protocol/requests/produce/index.js");
const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const messages = Array.from({ length: 900 }, (_, i) => ({
  key: bytes(32, i),
  value: bytes(1000 + ((i * 977) % 9000), i),
  timestamp: String(1_700_000_000_000 + i),
  headers: { "certstream.log_id": `log-${i % 7}`, "certstream.log_index": String(i), multi: ["a", "bé"] },
}));
const { request } = produce.protocol({ version: 3 })({
  acks: -1,
  timeout: 30_000,
  compression: 0,
  transactionalId: "tx",
  producerId: 42,
  producerEpoch: 3,
  topicData: [
    {
      topic: "t",
      partitions: [0, 1, 2].map((p) => ({
        partition: p,
        firstSequence: p * 10,
        messages: messages.filter((_, i) => i % 3 === p),
      })),
    },
  ],
});
const encoded = await request.encode();
console.log(createHash("sha256").update(encoded.buffer).digest("hex"), encoded.buffer.length);
