// Parse throughput on one core from the real RFC 6962 entries in ../shared/testdata: decode (MerkleTreeLeaf +
// extra_data) + X.509 parse + renderFull, then render-only costs per format. Prints figures; asserts nothing.
// Run: node bench/parse.bench.ts   (BENCH_SECONDS=n to change the duration of each measurement)
// The figures are wall-clock rates of one thread: on a shared machine, check `uptime` first (load above the
// number of cores lowers them proportionally).
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { renderDomainsOnly, renderFull, renderLite, renderMessages } from "@certstream/certstream";
import {
  CertificateCache,
  decodeRawEntry,
  fromRawEntry,
  type RawLogEntry,
  readDataTile,
  tileLeafToEntry,
  toCertificateEntry,
} from "@certstream/ct";
import type { CertificateEntry, LogSource } from "@certstream/schema";

const DATA = new URL("../../shared/testdata/ct-entries/rfc6962/", import.meta.url);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

const raws: RawLogEntry[] = [];
for (const file of readdirSync(DATA)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const body = JSON.parse(readFileSync(new URL(file, DATA), "utf8")) as {
    entries: { leaf_input: string; extra_data: string }[];
  };
  for (const e of body.entries) {
    raws.push({
      index: raws.length,
      leafInput: Buffer.from(e.leaf_input, "base64"),
      extraData: Buffer.from(e.extra_data, "base64"),
    });
  }
}
const log: LogSource = {
  id: "TnWjJ1yaEMM4W2zU3z9S6x3w4I4bjWnAsfpksWKaOd8=",
  name: "Google 'Argon2026h2'",
  url: "https://ct.googleapis.com/logs/us1/argon2026h2/",
  operator: "Google",
  kind: "rfc6962",
};
const seen = Date.now() * 1000;

// Rates per second of CPU time used by this process (user + system), so that other processes competing for the
// cores do not lower them; wall-clock rates are printed beside them. GC helper threads count as CPU time too,
// which makes the CPU figure slightly conservative.
function measure(name: string, perOp: number, fn: (i: number) => unknown): number {
  const warmup = Math.max(1, Math.ceil(2000 / perOp));
  for (let i = 0; i < warmup; i++) fn(i);
  const deadline = performance.now() + SECONDS * 1000;
  const batch = perOp > 1 ? 1 : 200;
  let n = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  while (performance.now() < deadline) {
    for (let j = 0; j < batch; j++) fn(n++);
  }
  const cpu = process.cpuUsage(cpuStart);
  const wallSecs = (performance.now() - start) / 1000;
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const rate = (n * perOp) / cpuSecs;
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US").padStart(10);
  console.log(
    `${name.padEnd(62)} ${fmt(rate)} /s cpu ${((cpuSecs / (n * perOp)) * 1e6).toFixed(2).padStart(7)} µs  (wall ${fmt((n * perOp) / wallSecs)} /s)`,
  );
  return rate;
}

console.log(
  `${raws.length} real entries (${raws.filter((r) => r.leafInput[11] === 1).length} precert), node ${process.version}, ${SECONDS}s per figure, load average ${loadavg()[0].toFixed(2)} on ${availableParallelism()} cores\n`,
);
console.log("end to end (one core):");
measure("decode + parse + renderFull (shared issuer cache)", 1, (i) =>
  renderFull(fromRawEntry(log, raws[i % raws.length], seen)),
);
measure("decode + parse + full/lite/domains (renderMessages)", 1, (i) =>
  renderMessages(fromRawEntry(log, raws[i % raws.length], seen)),
);
measure("decode + parse + renderFull (no issuer cache: cold chains)", 1, (i) =>
  renderFull(fromRawEntry(log, raws[i % raws.length], seen, new CertificateCache(1))),
);

// static-ct-api: the 1024 navigli2025h2 TileLeaf entries (precerts; their issuers are not in the test data,
// so these messages have an empty chain).
const TILES = new URL("../../shared/testdata/static-ct/navigli2025h2/tile/data/", import.meta.url);
const tileBytes = ["000", "001", "002", "003"].map((t) => readFileSync(new URL(t, TILES)));
const staticLog: LogSource = { ...log, kind: "static", url: "https://navigli2025h2.skylight.geomys.org/" };
measure("static-ct: 4 data tiles read + parse + renderFull, per entry", 1024, (i) => {
  const leaves = readDataTile(tileBytes[0], 256).concat(
    readDataTile(tileBytes[1], 256),
    readDataTile(tileBytes[2], 256),
    readDataTile(tileBytes[3], 256),
  );
  for (let j = 0; j < leaves.length; j++)
    renderFull(toCertificateEntry(staticLog, tileLeafToEntry(leaves[j], j, []), seen));
  return i;
});

console.log("\nstages:");
const decoded = raws.map(decodeRawEntry);
measure("decode only (MerkleTreeLeaf + extra_data)", 1, (i) => decodeRawEntry(raws[i % raws.length]));
measure("parse only (toCertificateEntry, issuer cache)", 1, (i) =>
  toCertificateEntry(log, decoded[i % decoded.length], seen),
);

console.log("\nrender only:");
const entries: CertificateEntry[] = raws.map((r) => fromRawEntry(log, r, seen));
measure("renderFull", 1, (i) => renderFull(entries[i % entries.length]));
measure("renderLite", 1, (i) => renderLite(entries[i % entries.length]));
measure("renderDomainsOnly", 1, (i) => renderDomainsOnly(entries[i % entries.length]));
measure("renderMessages (all three)", 1, (i) => renderMessages(entries[i % entries.length]));
// The same full message through JSON.stringify of a ready-made object tree, for comparison.
const objects = entries.map((e) => JSON.parse(renderFull(e) as string));
measure("JSON.stringify of an equivalent full message object", 1, (i) =>
  JSON.stringify(objects[i % objects.length]),
);
