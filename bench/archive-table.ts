// Writes a synthetic archive table straight into Delta (no Kafka), for the search benchmark and for trying the
// archive service on a large table:
//   node bench/archive-table.ts <table dir> [--rows 10000000] [--days 30] [--unclustered] [--seed 17]
// Never commit a generated table: write it under .cache/ or /tmp.
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeSyntheticArchive } from "@certstream/archive-search";
import { LocalStorage } from "@certstream/delta";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: "string", default: "10000000" },
    days: { type: "string", default: "30" },
    seed: { type: "string", default: "17" },
    unclustered: { type: "boolean", default: false },
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

const t0 = performance.now();
const result = await writeSyntheticArchive(new LocalStorage(positionals[0], { sync: false }), {
  rows: Number(values.rows),
  days: Number(values.days),
  seed: Number(values.seed),
  clustered: !values.unclustered,
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
