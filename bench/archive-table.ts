// Writes a synthetic archive table straight into Delta (no Kafka), for the search benchmark and for trying the
// archive service on a large table:
//   node bench/archive-table.ts <table dir> [--rows 10000000] [--days 30] [--unclustered] [--seed 17]
// Never commit a generated table: write it under .cache/ or /tmp. An s3://bucket/prefix target writes to the
// stack's S3 endpoint (S3_ENDPOINT_URL, scripts/stack.sh; the bucket is created).
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { writeSyntheticArchive } from "@certstream/archive-search";
import type { Storage } from "@certstream/delta";
import { LocalStorage, s3ClientConfig, storageFor } from "@certstream/delta";
import { s3StorageOptions } from "../test/stack.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: "string", default: "10000000" },
    days: { type: "string", default: "30" },
    seed: { type: "string", default: "17" },
    unclustered: { type: "boolean", default: false },
    "bloom-multi-domain-only": { type: "boolean", default: false },
  },
});
if (positionals.length !== 1) {
  console.error(
    "usage: node bench/archive-table.ts <table dir> [--rows N] [--days N] [--unclustered] [--seed N]",
  );
  process.exit(2);
}

/** Real leaf certificates (testdata/certs/live-2026) as DER templates. */
export function derTemplates(): Uint8Array[] {
  const dir = join(import.meta.dirname, "..", "..", "shared", "testdata", "certs", "live-2026");
  return readdirSync(dir)
    .filter((f) => /^(x509|precert)-.*\.der$/.test(f))
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** A local directory, or an s3:// URI on the stack's S3 endpoint (bucket created when missing). */
export async function benchStorage(target: string): Promise<Storage> {
  if (!target.startsWith("s3://")) return new LocalStorage(target, { sync: false });
  const cfg = { table_uri: target, table_path: "", storage_options: s3StorageOptions() };
  await new S3Client(s3ClientConfig(cfg))
    .send(new CreateBucketCommand({ Bucket: new URL(target).hostname }))
    .catch(() => {});
  return storageFor(cfg);
}

const t0 = performance.now();
const result = await writeSyntheticArchive(await benchStorage(positionals[0]), {
  rows: Number(values.rows),
  days: Number(values.days),
  seed: Number(values.seed),
  clustered: !values.unclustered,
  granuleBloom: values["bloom-multi-domain-only"] ? "multi-domain" : "all",
  derTemplates: derTemplates(),
  onFile: (f) => process.stderr.write(`${f.day}: ${f.rows} rows, ${(f.bytes / 2 ** 20).toFixed(1)} MiB\n`),
});
const secs = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    ...result,
    seconds: Number(secs.toFixed(1)),
    rows_per_second: Math.round(result.rows / secs),
    load: loadavg().map((x) => Number(x.toFixed(2))),
  }),
);
