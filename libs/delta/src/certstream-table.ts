import { certLink as messageCertLink } from "@certstream/certstream";
import { queryFields } from "@certstream/ct";
import type { Certificate, CertificateEntry, ChainCertificate, DistinguishedName } from "@certstream/schema";
import type { ParquetWriterOptions, Row } from "./parquet-writer.ts";
import type { DeltaStructType } from "./schema.ts";
import { arrayOf, field } from "./schema.ts";

/**
 * The archive table: one row per CT log entry. The first 20 columns are the reference sink's (certstream-server-rust
 * delta_sink) with the same names and types, as DESIGN.md lists them (as_der is binary here, the DER itself).
 * Then what the archive needs beyond them: the log id, the entry's own timestamp, and for an entry that could not be
 * parsed the reason and its raw bytes, so that every (log, index) has exactly one row.
 * Then the query columns (issue 15), nullable, appended so that the columns before them stay exactly as they were:
 * a table written before them is upgraded in place by a metaData commit (DeltaTable.openOrCreate), and its old
 * rows read as null. Certificate columns are nullable: they are null in parse-error rows.
 */
/**
 * The query columns, the CertificateEntry fields of the same names (libs/ct queryFields): timestamps instead of
 * epoch seconds, the issuer's parts, registered domains by the Public Suffix List, the log's short name, the key,
 * and the CA/B Forum validation level.
 */
export const QUERY_COLUMNS = [
  field("not_before_ts", "timestamp"),
  field("not_after_ts", "timestamp"),
  field("subject_cn", "string"),
  field("issuer_cn", "string"),
  field("issuer_o", "string"),
  field("registered_domains", arrayOf("string")),
  field("log_name", "string"),
  field("key_algorithm", "string"),
  field("key_bits", "integer"),
  field("validation_level", "string"),
];

export const CERTSTREAM_TABLE_SCHEMA: DeltaStructType = {
  type: "struct",
  fields: [
    field("cert_index", "long", false),
    field("update_type", "string", false),
    field("seen", "timestamp", false),
    field("seen_date", "string", false),
    field("source_name", "string", false),
    field("source_url", "string", false),
    field("cert_link", "string", false),
    field("serial_number", "string"),
    field("fingerprint", "string"),
    field("sha256", "string"),
    field("sha1", "string"),
    field("not_before", "long"),
    field("not_after", "long"),
    field("is_ca", "boolean"),
    field("signature_algorithm", "string"),
    field("subject_aggregated", "string"),
    field("issuer_aggregated", "string"),
    field("all_domains", arrayOf("string")),
    field("as_der", "binary"),
    field("chain", arrayOf("string")),
    field("log_id", "string", false),
    field("entry_timestamp", "timestamp", false),
    field("parse_error", "string"),
    field("raw_leaf_input", "binary"),
    field("raw_extra_data", "binary"),
    ...QUERY_COLUMNS,
  ],
};

export const CERTSTREAM_PARTITION_COLUMNS = ["seen_date"];

/**
 * Writer settings for the archive: columns that are (nearly) unique per row skip Parquet's dictionary attempt
 * (measured: about a quarter less encoding time, slightly smaller files). The chain, issuer, log and type columns
 * repeat and keep their dictionaries; so does `all_domains`, since a list column cannot be made plain alone
 * (ParquetWriter) and making every list plain would store the chain once per row.
 */
export const CERTSTREAM_WRITER_OPTIONS: ParquetWriterOptions = {
  plainColumns: [
    "cert_index",
    "seen",
    "cert_link",
    "serial_number",
    "fingerprint",
    "sha256",
    "sha1",
    "not_before",
    "not_after",
    "subject_aggregated",
    "as_der",
    "entry_timestamp",
    "raw_leaf_input",
    "raw_extra_data",
  ],
};

/** The row shape written for each entry (values in ParquetWriter's forms: µs timestamps, Uint8Array binaries). */
export interface CertstreamRow extends Row {
  cert_index: number;
  update_type: string;
  seen: number;
  seen_date: string;
  source_name: string;
  source_url: string;
  cert_link: string;
  serial_number: string | null;
  fingerprint: string | null;
  sha256: string | null;
  sha1: string | null;
  not_before: number | null;
  not_after: number | null;
  is_ca: boolean | null;
  signature_algorithm: string | null;
  subject_aggregated: string | null;
  issuer_aggregated: string | null;
  all_domains: string[] | null;
  as_der: Uint8Array | null;
  chain: string[] | null;
  log_id: string;
  entry_timestamp: number;
  parse_error: string | null;
  raw_leaf_input: Uint8Array | null;
  raw_extra_data: Uint8Array | null;
  /** µs since the epoch. */
  not_before_ts: number | null;
  not_after_ts: number | null;
  subject_cn: string | null;
  issuer_cn: string | null;
  issuer_o: string | null;
  registered_domains: string[] | null;
  log_name: string | null;
  key_algorithm: string | null;
  key_bits: number | null;
  validation_level: string | null;
}

/** Where the entry can be fetched again (the certstream message's cert_link). */
export function certLink(entry: Pick<CertificateEntry, "log" | "index">): string {
  return messageCertLink(entry.log, entry.index);
}

function dn(d: DistinguishedName): Record<string, string | null> {
  return {
    aggregated: d.aggregated,
    C: d.C,
    CN: d.CN,
    L: d.L,
    O: d.O,
    OU: d.OU,
    ST: d.ST,
    emailAddress: d.emailAddress,
  };
}

function certJson(c: Certificate | null, der: Uint8Array): string {
  const as_der = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  if (!c) return JSON.stringify({ as_der });
  return JSON.stringify({
    subject: dn(c.subject),
    issuer: dn(c.issuer),
    serial_number: c.serial_number,
    not_before: c.not_before,
    not_after: c.not_after,
    fingerprint: c.fingerprint,
    sha1: c.sha1,
    sha256: c.sha256,
    signature_algorithm: c.signature_algorithm,
    is_ca: c.is_ca,
    all_domains: c.all_domains,
    extensions: c.extensions,
    as_der,
  });
}

/**
 * Chain certificates repeat across entries (a handful of intermediates sign everything), so their JSON is cached
 * by fingerprint; bounded so a long-running sink does not grow without limit.
 */
const chainCache = new Map<string, string>();
const CHAIN_CACHE_MAX = 4096;

/** The `chain` column's JSON for one chain certificate (cached by fingerprint). */
export function chainJson(c: ChainCertificate): string {
  const key = c.cert?.sha256;
  if (!key) return certJson(c.cert, c.der);
  let s = chainCache.get(key);
  if (s === undefined) {
    s = certJson(c.cert, c.der);
    if (chainCache.size >= CHAIN_CACHE_MAX) chainCache.clear();
    chainCache.set(key, s);
  }
  return s;
}

let lastDay = Number.NaN;
let lastDate = "";

/** YYYY-MM-DD (UTC) of a µs timestamp. The last day's string is kept: consecutive rows share their day. */
export function seenDate(seenMicros: number): string {
  const day = Math.floor(seenMicros / 86_400_000_000);
  if (day === lastDay) return lastDate;
  const s = new Date(Math.floor(seenMicros / 1000)).toISOString().slice(0, 10);
  lastDay = day;
  lastDate = s;
  return s;
}

/** ms → µs, null kept. */
function micros(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : ms * 1000;
}

/**
 * Maps one CertificateEntry to its table row. Never throws for a parse-error entry: that is a row too.
 * A record from a producer older than the query fields (log_name absent or null: newer producers always set it)
 * gets them derived here, so every row
 * the sink writes has them.
 */
export function toRow(entry: CertificateEntry): CertstreamRow {
  const leaf = entry.leaf;
  const pe = entry.parse_error;
  const q = entry.log_name == null ? queryFields(entry.log, leaf, entry.leaf_der) : entry;
  return {
    cert_index: entry.index,
    update_type: entry.update_type,
    seen: entry.seen,
    seen_date: seenDate(entry.seen),
    source_name: entry.log.name,
    source_url: entry.log.url,
    cert_link: certLink(entry),
    serial_number: leaf?.serial_number ?? null,
    fingerprint: leaf?.fingerprint ?? null,
    sha256: leaf?.sha256 ?? null,
    sha1: leaf?.sha1 ?? null,
    not_before: leaf?.not_before ?? null,
    not_after: leaf?.not_after ?? null,
    is_ca: leaf?.is_ca ?? null,
    signature_algorithm: leaf?.signature_algorithm ?? null,
    subject_aggregated: leaf?.subject.aggregated ?? null,
    issuer_aggregated: leaf?.issuer.aggregated ?? null,
    all_domains: leaf ? leaf.all_domains : null,
    as_der: entry.leaf_der.byteLength > 0 ? entry.leaf_der : null,
    chain: entry.chain.map(chainJson),
    log_id: entry.log.id,
    entry_timestamp: entry.timestamp * 1000,
    parse_error: pe ? `${pe.kind}: ${pe.message}` : null,
    raw_leaf_input: entry.raw?.leaf_input ?? null,
    raw_extra_data: entry.raw?.extra_data ?? null,
    not_before_ts: micros(q.not_before_ts),
    not_after_ts: micros(q.not_after_ts),
    subject_cn: q.subject_cn ?? null,
    issuer_cn: q.issuer_cn ?? null,
    issuer_o: q.issuer_o ?? null,
    registered_domains: q.registered_domains ?? null,
    log_name: q.log_name ?? null,
    key_algorithm: q.key_algorithm ?? null,
    key_bits: q.key_bits ?? null,
    validation_level: q.validation_level ?? null,
  };
}

/** One batch of archived keys: parallel arrays (row i = (logIds[i] / sourceUrls[i], indexes[i])). */
export interface ArchivedKeys {
  file: string;
  logIds: ArrayLike<unknown>;
  sourceUrls: ArrayLike<unknown> | null;
  /** cert_index values (BigInt64Array when the file has no nulls). */
  indexes: ArrayLike<unknown>;
}

/**
 * The (log, cert_index) pairs of the archive, for gap detection: reads only the key columns and skips files whose
 * stats rule them out (log_id / source_url equality, cert_index range). `withSourceUrl` adds source_url.
 */
export async function* scanArchivedKeys(
  table: import("./table.ts").DeltaTable,
  options: {
    logId?: string;
    sourceUrl?: string;
    minIndex?: number;
    maxIndex?: number;
    withSourceUrl?: boolean;
  } = {},
): AsyncGenerator<ArchivedKeys> {
  const filters: import("./table.ts").Filter[] = [];
  if (options.logId !== undefined) filters.push({ column: "log_id", op: "=", value: options.logId });
  if (options.sourceUrl !== undefined)
    filters.push({ column: "source_url", op: "=", value: options.sourceUrl });
  if (options.minIndex !== undefined)
    filters.push({ column: "cert_index", op: ">=", value: options.minIndex });
  if (options.maxIndex !== undefined)
    filters.push({ column: "cert_index", op: "<=", value: options.maxIndex });
  const columns =
    options.withSourceUrl || options.sourceUrl !== undefined
      ? ["log_id", "source_url", "cert_index"]
      : ["log_id", "cert_index"];
  for await (const b of table.scan({ columns, filters })) {
    yield {
      file: b.file,
      logIds: b.columns.log_id,
      sourceUrls: b.columns.source_url ?? null,
      indexes: b.columns.cert_index,
    };
  }
}
