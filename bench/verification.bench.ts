// Tree verification figures (issue 18, docs/verification.md): CPU per entry (leaf hash + compact-range append +
// the root comparisons a followed log makes), bytes stored per log, requests. Real entries: the navigli2025h2
// data tiles (precert MerkleTreeLeaf, ~1.1 KB) and the RFC 6962 entries of ../shared/testdata (~1.5 KB).
// Run: node bench/verification.bench.ts   (BENCH_ENTRIES=n, default 2,000,000). Prints figures; asserts nothing.
// CPU time (process.cpuUsage) is what counts on a shared machine; the load average is printed with it.
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { CompactRange, leafHash, readDataTile } from "@certstream/ct";
import { ingesterStateSchemaText } from "@certstream/schema";
import avro from "avsc";

const N = Number(process.env.BENCH_ENTRIES ?? 2_000_000);
const TESTDATA = new URL("../../shared/testdata/", import.meta.url);

const leaves: Uint8Array[] = [];
for (let n = 0; n < 4; n++)
  for (const l of readDataTile(
    readFileSync(new URL(`static-ct/navigli2025h2/tile/data/00${n}`, TESTDATA)),
    256,
  ))
    leaves.push(l.merkleTreeLeaf);
const rfcDir = new URL("ct-entries/rfc6962/", TESTDATA);
for (const f of readdirSync(rfcDir).filter((x) => x.endsWith(".json"))) {
  const body = JSON.parse(readFileSync(new URL(f, rfcDir), "utf8")) as { entries: { leaf_input: string }[] };
  for (const e of body.entries) leaves.push(Buffer.from(e.leaf_input, "base64"));
}
const avgBytes = leaves.reduce((a, l) => a + l.length, 0) / leaves.length;

function cpuMicros(f: () => void): number {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return d.user + d.system;
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}; ${leaves.length} real MerkleTreeLeaf values, ${avgBytes.toFixed(0)} bytes on average`,
);

// Warm up (JIT, hash contexts).
{
  const r = CompactRange.empty();
  for (let i = 0; i < 200_000; i++) r.append(leafHash(leaves[i % leaves.length]));
}

// Each figure is measured in ROUNDS rounds of N/ROUNDS entries: the minimum is the cost with the core to
// ourselves (on a machine shared with other work most rounds are stretched by contention), the median what a
// loaded machine gives.
const ROUNDS = 20;
function perEntry(label: string, round: (n: number) => void): void {
  const n = Math.floor(N / ROUNDS);
  const xs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) xs.push(cpuMicros(() => round(n)) / n);
  xs.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(44)} min ${xs[0].toFixed(3)} µs   median ${xs[ROUNDS >> 1].toFixed(3)} µs`);
}
const hashes = leaves.map((l) => leafHash(l));
const BATCH = 100;
console.log(`\nCPU per entry over ${N.toLocaleString()} entries (one core; goal < 2 µs, hashing included):`);
// 1. Leaf hashing alone (the ingester computes it once per entry, in the reader).
perEntry("leaf hash SHA-256(0x00 || leaf)", (n) => {
  for (let i = 0; i < n; i++) leafHash(leaves[i % leaves.length]);
});
// 2. Append alone (leaf hashes precomputed).
perEntry("compact-range append", (n) => {
  const r = CompactRange.empty();
  for (let i = 0; i < n; i++) r.append(hashes[i % hashes.length]);
});
// 3. What a followed log costs: hash + append per entry, plus one clone (a batch is checked on a copy) and one
// root per batch of 100 (each poll's batch ends at a head), plus encoding the range for the state record.
perEntry(`hash + append + clone/root/encode per ${BATCH}`, (n) => {
  let r = CompactRange.empty();
  for (let i = 0; i < n; i += BATCH) {
    const c = r.clone();
    for (let k = 0; k < BATCH; k++) c.append(leafHash(leaves[(i + k) % leaves.length]));
    c.rootHash();
    c.encodeHashes();
    r = c;
  }
});
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);

// Bytes stored per log: 32 per 1-bit of the size, plus the Avro framing of the verification record.
const stateSchema = JSON.parse(ingesterStateSchemaText);
const stateType = avro.Type.forSchema(stateSchema);
const base = {
  log_id: "5Pt3SiEkxYZAsYMvUKv63ISjiu1xke62aSI3ksv2KJE=",
  log_url: "https://ct.googleapis.com/logs/us1/argon2026h2/",
  next_index: 0,
  tree_size: 0,
  updated_at: Date.now(),
  owner: "ingester-0",
};
console.log("\nBytes stored per log (IngesterState value, Avro body):");
for (const size of [1_000, 1_111_014_110, 2 ** 31 - 1, 4_000_000_000]) {
  const r = CompactRange.of(
    size,
    Array.from({ length: [...size.toString(2)].filter((b) => b === "1").length }, () => new Uint8Array(32)),
  );
  const without = stateType.toBuffer({
    ...base,
    next_index: size,
    tree_size: size,
    verification: null,
  }).length;
  const withRange = stateType.toBuffer({
    ...base,
    next_index: size,
    tree_size: size,
    verification: {
      range_size: size,
      range_hashes: r.encodeHashes(),
      seeded_at: 0,
      verified_size: size,
      verified_timestamp: Date.now(),
      mismatch: null,
      halted: false,
    },
  }).length;
  console.log(
    `  size ${size.toLocaleString().padStart(13)}: ${r.hashes.length} subtrees = ${r.hashes.length * 32} B of hashes; state ${without} → ${withRange} B (+${withRange - without})`,
  );
}

console.log("\nExtra requests per log:");
console.log("  per hour while following: 0 (the heads compared are those the watcher reads anyway)");
console.log("  per start (first start, reset, failed seed retried after 10 min):");
console.log("    RFC 6962: 1 get-proof-by-hash (services/ingester/test/tree-verification.test.ts counts it)");
for (const start of [1_000, 1_111_014_090, 4_000_000_000]) {
  // One hash tile per tile level the range's subtrees fall in (levels of 8 heights).
  let levels = 0;
  for (let h = 0, x = start; x > 0; h++, x = Math.floor(x / 2))
    if (x % 2 === 1) levels |= 1 << Math.floor(h / 8);
  const tiles = [...levels.toString(2)].filter((b) => b === "1").length;
  console.log(`    static-ct-api, start at ${start.toLocaleString()}: ${tiles} hash tile(s)`);
}
