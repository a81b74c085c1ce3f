import { createHash, randomFillSync } from "node:crypto";
import type { AddAction, Storage } from "@certstream/delta";
import { DeltaTable, encodeLogPath, newDataFilePath, ParquetWriter } from "@certstream/delta";
import { ARCHIVE_SCHEMA } from "./archive-schema.ts";
import type { ColumnData } from "./clustered-file.ts";
import { writeClusteredFile } from "./clustered-file.ts";

/**
 * A generator of realistic archive tables, written straight into Delta (no Kafka): registered domains drawn from a
 * Zipf distribution, the issuer mix of today's Web PKI, several logs, certificates seen over `days` days with
 * not_before spread over years (backfilled logs hold old certificates). Values are synthetic (the DER is a real
 * certificate's with its signature bytes replaced), so only its shape is real: for benchmarks and tests of the
 * search, never for anything that verifies signatures.
 */
export interface SyntheticArchiveOptions {
  rows: number;
  /** Days of `seen`, ending the day before `endMs`. Default 30. */
  days?: number;
  endMs?: number;
  /** Distinct registered domains. Default rows / 4. */
  registeredDomains?: number;
  /** Zipf exponent of the registered domains' popularity. Default 1.05. */
  zipf?: number;
  /** Share of certificates naming several registered domains. Default 0.08. */
  multiDomainShare?: number;
  /** Share of certificates whose not_before lies up to 4 years before they were seen. Default 0.15. */
  oldShare?: number;
  /** Clustered files (sorted by domain, granule filters) as `cluster` leaves them; false: as the sink writes. */
  clustered?: boolean;
  /** Rows per domain-filter granule of clustered files (see ClusteredFileOptions). Default 1024. */
  granuleRows?: number;
  /** See ClusteredFileOptions.granuleBloom. */
  granuleBloom?: "all" | "multi-domain";
  /** Most rows in one data file. Default 500,000. */
  maxFileRows?: number;
  /** DER templates (real certificates); their last 256 bytes are replaced per row. */
  derTemplates?: Uint8Array[];
  seed?: number;
  /** Called after each data file. */
  onFile?: (info: { day: string; rows: number; bytes: number }) => void;
}

export interface SyntheticArchiveResult {
  rows: number;
  files: number;
  bytes: number;
  version: number;
  /** The most popular registered domains, most popular first (what a benchmark searches). */
  topDomains: string[];
}

/** Issuers by share of certificates logged (approximate, 2025-2026 CT). */
const ISSUERS: { o: string; cn: string[]; share: number; level: string; key: string; bits: number }[] = [
  {
    o: "Let's Encrypt",
    cn: ["R12", "R13", "E7", "E8", "R10", "R11"],
    share: 0.56,
    level: "DV",
    key: "ECDSA",
    bits: 256,
  },
  {
    o: "Google Trust Services",
    cn: ["WR1", "WE1", "WR2", "WE2"],
    share: 0.2,
    level: "DV",
    key: "ECDSA",
    bits: 256,
  },
  {
    o: "Sectigo Limited",
    cn: ["Sectigo RSA Domain Validation Secure Server CA"],
    share: 0.06,
    level: "DV",
    key: "RSA",
    bits: 2048,
  },
  {
    o: "DigiCert Inc",
    cn: ["DigiCert Global G2 TLS RSA SHA256 2020 CA1", "Thawte TLS RSA CA G1"],
    share: 0.05,
    level: "OV",
    key: "RSA",
    bits: 2048,
  },
  {
    o: "ZeroSSL",
    cn: ["ZeroSSL ECC Domain Secure Site CA"],
    share: 0.04,
    level: "DV",
    key: "ECDSA",
    bits: 256,
  },
  {
    o: "Amazon",
    cn: ["Amazon RSA 2048 M02", "Amazon RSA 2048 M04"],
    share: 0.03,
    level: "DV",
    key: "RSA",
    bits: 2048,
  },
  {
    o: "Cloudflare, Inc.",
    cn: ["Cloudflare TLS Issuing ECC CA 1"],
    share: 0.02,
    level: "DV",
    key: "ECDSA",
    bits: 256,
  },
  {
    o: "GoDaddy.com, Inc.",
    cn: ["Go Daddy Secure Certificate Authority - G2"],
    share: 0.015,
    level: "DV",
    key: "RSA",
    bits: 2048,
  },
  {
    o: "Microsoft Corporation",
    cn: ["Microsoft Azure RSA TLS Issuing CA 08"],
    share: 0.01,
    level: "OV",
    key: "RSA",
    bits: 2048,
  },
  {
    o: "GlobalSign nv-sa",
    cn: ["GlobalSign GCC R3 DV TLS CA 2020"],
    share: 0.01,
    level: "DV",
    key: "RSA",
    bits: 2048,
  },
  {
    o: "Entrust, Inc.",
    cn: ["Entrust Certification Authority - L1K"],
    share: 0.005,
    level: "EV",
    key: "RSA",
    bits: 3072,
  },
];

const LOGS: { description: string; name: string; url: string; share: number }[] = [
  {
    description: "Google 'Argon2026h1'",
    name: "argon2026h1",
    url: "https://ct.googleapis.com/logs/us1/argon2026h1/",
    share: 0.2,
  },
  {
    description: "Google 'Xenon2026h1'",
    name: "xenon2026h1",
    url: "https://ct.googleapis.com/logs/eu1/xenon2026h1/",
    share: 0.18,
  },
  {
    description: "Cloudflare 'Nimbus2026'",
    name: "nimbus2026",
    url: "https://ct.cloudflare.com/logs/nimbus2026/",
    share: 0.17,
  },
  {
    description: "Let's Encrypt 'Oak2026h1'",
    name: "oak2026h1",
    url: "https://oak.ct.letsencrypt.org/2026h1/",
    share: 0.15,
  },
  {
    description: "DigiCert 'Wyvern2026h1'",
    name: "wyvern2026h1",
    url: "https://wyvern.ct.digicert.com/2026h1/",
    share: 0.1,
  },
  {
    description: "Sectigo 'Elephant2026h1'",
    name: "elephant2026h1",
    url: "https://elephant2026h1.ct.sectigo.com/",
    share: 0.08,
  },
  {
    description: "TrustAsia Luoshu2026",
    name: "luoshu2026",
    url: "https://ct2026.trustasia.com/luoshu2026/",
    share: 0.05,
  },
  {
    description: "Geomys 'Tuscolo2026h1'",
    name: "tuscolo2026h1",
    url: "https://tuscolo2026h1.sunlight.geomys.org/",
    share: 0.07,
  },
];

/** Top-level suffixes with their share of registered domains; github.io is a private-section suffix. */
const SUFFIXES: [string, number][] = [
  ["com", 0.46],
  ["net", 0.05],
  ["org", 0.05],
  ["de", 0.06],
  ["co.uk", 0.04],
  ["ru", 0.04],
  ["io", 0.03],
  ["com.br", 0.03],
  ["fr", 0.02],
  ["nl", 0.02],
  ["jp", 0.02],
  ["info", 0.02],
  ["xyz", 0.02],
  ["app", 0.02],
  ["dev", 0.02],
  ["au", 0.01],
  ["com.au", 0.02],
  ["pl", 0.02],
  ["it", 0.02],
  ["github.io", 0.01],
];
const SUBDOMAINS = [
  "mail",
  "api",
  "shop",
  "cdn",
  "app",
  "vpn",
  "autodiscover",
  "cpanel",
  "webmail",
  "portal",
  "dev",
];
const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ne",
  "ta",
  "ri",
  "so",
  "vu",
  "pe",
  "zo",
  "ba",
  "ch",
  "dr",
  "fl",
  "gr",
  "st",
];

/** mulberry32: a small seeded PRNG, so a table is the same for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T extends { share: number }>(items: readonly T[], u: number): T {
  let acc = 0;
  for (const it of items) {
    acc += it.share;
    if (u < acc) return it;
  }
  return items[items.length - 1];
}

/** The registered domain of popularity rank k (1 = most popular): a pronounceable label and a suffix. */
export function syntheticDomain(k: number): string {
  let n = k;
  let label = "";
  do {
    label += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0);
  const h = createHash("md5").update(String(k)).digest().readUInt32LE(0) / 4294967296;
  let acc = 0;
  let suffix = "com";
  const total = SUFFIXES.reduce((s, [, w]) => s + w, 0);
  for (const [s, w] of SUFFIXES) {
    acc += w / total;
    if (h < acc) {
      suffix = s;
      break;
    }
  }
  return `${label}${k % 7 === 0 ? "-online" : ""}.${suffix}`;
}

/** Samples ranks 1..n with P(k) ∝ 1/k^s (inverse CDF over a precomputed table). */
class ZipfSampler {
  readonly #cdf: Float64Array;
  constructor(n: number, s: number) {
    this.#cdf = new Float64Array(n);
    let acc = 0;
    for (let k = 1; k <= n; k++) {
      acc += 1 / k ** s;
      this.#cdf[k - 1] = acc;
    }
    for (let i = 0; i < n; i++) this.#cdf[i] /= acc;
  }
  sample(u: number): number {
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }
}

const hexBytes = Buffer.alloc(64);
/** `chars` random hex digits, as one flat string (a string built digit by digit costs the GC dearly). */
function hex(rand: () => number, chars: number): string {
  const n = chars >> 1;
  for (let i = 0; i < n; i++) hexBytes[i] = (rand() * 256) | 0;
  return hexBytes.toString("hex", 0, n);
}

function colonHex(h: string): string {
  return h.toUpperCase().replace(/(..)(?!$)/g, "$1:");
}

/** Writes a synthetic archive table at `storage` (created if absent) in one commit. */
export async function writeSyntheticArchive(
  storage: Storage,
  options: SyntheticArchiveOptions,
): Promise<SyntheticArchiveResult> {
  const rand = prng(options.seed ?? 17);
  const days = options.days ?? 30;
  const endDay = Math.floor((options.endMs ?? Date.now()) / 86_400_000);
  const nDomains = Math.max(10, options.registeredDomains ?? Math.floor(options.rows / 4));
  const zipf = new ZipfSampler(nDomains, options.zipf ?? 1.05);
  const names = new Map<number, string>();
  const domainOf = (k: number): string => {
    let d = names.get(k);
    if (d === undefined) {
      d = syntheticDomain(k);
      names.set(k, d);
    }
    return d;
  };
  const multiShare = options.multiDomainShare ?? 0.08;
  const oldShare = options.oldShare ?? 0.15;
  const maxFileRows = options.maxFileRows ?? 500_000;
  const templates = options.derTemplates && options.derTemplates.length > 0 ? options.derTemplates : null;
  const logIds = LOGS.map((l) => createHash("sha256").update(l.url).digest("base64"));
  const logIndex = LOGS.map((_, i) => 1_000_000_000 + i * 10_000_000);
  const chains = ISSUERS.map((iss) =>
    iss.cn.map((cn) =>
      JSON.stringify({
        subject: { aggregated: `/C=US/O=${iss.o}/CN=${cn}`, CN: cn, O: iss.o },
        issuer: { aggregated: `/C=US/O=${iss.o}/CN=${iss.o} Root`, CN: `${iss.o} Root`, O: iss.o },
        is_ca: true,
        as_der: createHash("sha512").update(cn).digest("base64").repeat(18),
      }),
    ),
  );
  const table = await DeltaTable.openOrCreate(storage, {
    schema: ARCHIVE_SCHEMA,
    partitionColumns: ["seen_date"],
  });
  const adds: AddAction[] = [];
  let bytes = 0;
  let written = 0;
  for (let d = 0; d < days; d++) {
    const dayRows = Math.floor(options.rows / days) + (d < options.rows % days ? 1 : 0);
    const dayNumber = endDay - days + d;
    const day = new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
    for (let fileStart = 0; fileStart < dayRows; fileStart += maxFileRows) {
      const n = Math.min(maxFileRows, dayRows - fileStart);
      const cols: ColumnData = {};
      for (const f of ARCHIVE_SCHEMA.fields) cols[f.name] = new Array(n);
      const seenSorted = new Float64Array(n);
      for (let i = 0; i < n; i++)
        seenSorted[i] = dayNumber * 86_400_000_000 + Math.floor(rand() * 86_400_000_000);
      seenSorted.sort();
      for (let i = 0; i < n; i++) {
        const li = LOGS.indexOf(pick(LOGS, rand()));
        const log = LOGS[li];
        const iss = pick(ISSUERS, rand());
        const ii = ISSUERS.indexOf(iss);
        const ci = (rand() * iss.cn.length) | 0;
        const multi = rand() < multiShare;
        const regs: string[] = [];
        const all: string[] = [];
        const count = multi ? 2 + ((rand() * 5) | 0) : 1;
        for (let k = 0; k < count; k++) {
          const reg = domainOf(zipf.sample(rand()));
          if (regs.includes(reg)) continue;
          regs.push(reg);
          const p = rand();
          if (multi || p < 0.45) all.push(reg, `www.${reg}`);
          else if (p < 0.65) all.push(`*.${reg}`, reg);
          else if (p < 0.85) all.push(`${SUBDOMAINS[(rand() * SUBDOMAINS.length) | 0]}.${reg}`);
          else all.push(reg);
        }
        const seen = seenSorted[i];
        const seenSecs = Math.floor(seen / 1e6);
        const nb =
          rand() < oldShare
            ? seenSecs - Math.floor(rand() * 4 * 365 * 86_400)
            : seenSecs - Math.floor(rand() * 7200);
        const lifetime =
          iss.o === "Let's Encrypt" || iss.o === "Google Trust Services" ? 90 * 86_400 : 365 * 86_400;
        const sha256 = hex(rand, 64);
        const sha1 = hex(rand, 40);
        const index = logIndex[li]++;
        let der: Uint8Array | null = null;
        if (templates) {
          // The signature's bytes are random in a real certificate too (and unseeded here: nothing reads them).
          const t = templates[i % templates.length];
          der = new Uint8Array(t);
          randomFillSync(der, Math.max(0, der.length - 256));
        }
        const c = cols;
        c.cert_index[i] = index;
        c.update_type[i] = rand() < 0.7 ? "PrecertLogEntry" : "X509LogEntry";
        c.seen[i] = seen;
        c.seen_date[i] = day;
        c.source_name[i] = log.description;
        c.source_url[i] = log.url;
        c.cert_link[i] = `${log.url}ct/v1/get-entries?start=${index}&end=${index}`;
        c.serial_number[i] = hex(rand, 32);
        c.fingerprint[i] = colonHex(sha1);
        c.sha256[i] = sha256;
        c.sha1[i] = sha1;
        c.not_before[i] = nb;
        c.not_after[i] = nb + lifetime;
        c.is_ca[i] = false;
        c.signature_algorithm[i] = iss.key === "ECDSA" ? "ecdsa-with-SHA384" : "sha256, rsa";
        c.subject_aggregated[i] =
          iss.level === "DV" ? `/CN=${all[0]}` : `/C=DE/O=${regs[0]} GmbH/CN=${all[0]}`;
        c.issuer_aggregated[i] = `/C=US/O=${iss.o}/CN=${iss.cn[ci]}`;
        c.all_domains[i] = all;
        c.as_der[i] = der;
        c.chain[i] = [chains[ii][ci]];
        c.log_id[i] = logIds[li];
        c.entry_timestamp[i] = seen - 2_000_000;
        c.parse_error[i] = null;
        c.raw_leaf_input[i] = null;
        c.raw_extra_data[i] = null;
        c.not_before_ts[i] = nb * 1_000_000;
        c.not_after_ts[i] = (nb + lifetime) * 1_000_000;
        c.subject_cn[i] = all[0];
        c.issuer_cn[i] = iss.cn[ci];
        c.issuer_o[i] = iss.o;
        c.registered_domains[i] = regs;
        c.log_name[i] = log.name;
        c.key_algorithm[i] = iss.key;
        c.key_bits[i] = iss.bits;
        c.validation_level[i] = iss.level;
      }
      const partitionValues = { seen_date: day };
      let add: AddAction;
      if (options.clustered ?? true) {
        add = await writeClusteredFile(storage, ARCHIVE_SCHEMA, ["seen_date"], partitionValues, cols, n, {
          granuleRows: options.granuleRows,
          granuleBloom: options.granuleBloom,
        });
      } else {
        const schema = {
          type: "struct" as const,
          fields: ARCHIVE_SCHEMA.fields.filter((f) => f.name !== "seen_date"),
        };
        const w = new ParquetWriter(schema).writeColumns(cols, n);
        const path = newDataFilePath([["seen_date", day]]);
        await storage.put(path, w.bytes);
        add = {
          path: encodeLogPath(path),
          partitionValues,
          size: w.bytes.byteLength,
          modificationTime: Date.now(),
          dataChange: true,
          stats: JSON.stringify(w.stats),
        };
      }
      adds.push(add);
      bytes += add.size;
      written += n;
      options.onFile?.({ day, rows: n, bytes: add.size });
    }
  }
  const version = await table.commit(
    adds.map((add) => ({ add })),
    { operation: "WRITE", operationParameters: { mode: "Append", generator: "synthetic-archive" } },
  );
  const topDomains: string[] = [];
  for (let k = 1; k <= Math.min(10, nDomains); k++) topDomains.push(domainOf(k));
  return { rows: written, files: adds.length, bytes, version, topDomains };
}
