import { SearchParamError } from "./errors.ts";

/** One certificate found: the certstream leaf fields we archive, plus where it was logged and a DER link. */
export interface SearchResultRow {
  log: { name: string | null; id: string | null; url: string | null; description: string | null };
  index: number | null;
  cert_link: string | null;
  seen: string | null;
  update_type: string | null;
  /** Reference for GET /api/certificate/<der>: the DER, application/pkix-cert. */
  der: string;
  leaf_cert: {
    subject: { aggregated: string | null; CN: string | null };
    issuer: { aggregated: string | null; CN: string | null; O: string | null };
    serial_number: string | null;
    not_before: number | null;
    not_after: number | null;
    fingerprint: string | null;
    sha1: string | null;
    sha256: string | null;
    signature_algorithm: string | null;
    is_ca: boolean | null;
    all_domains: string[];
  };
  registered_domains: string[] | null;
  validation_level: string | null;
  key_algorithm: string | null;
  key_bits: number | null;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null;

function iso(us: unknown): string | null {
  const n = num(us);
  return n === null ? null : new Date(Math.floor(n / 1000)).toISOString();
}

/** Maps the result columns of one row (hyparquet values, timestamps in µs) to its JSON. */
export function resultRow(v: Record<string, unknown>, der: string): SearchResultRow {
  return {
    log: {
      name: str(v.log_name),
      id: str(v.log_id),
      url: str(v.source_url),
      description: str(v.source_name),
    },
    index: num(v.cert_index),
    cert_link: str(v.cert_link),
    seen: iso(v.seen),
    update_type: str(v.update_type),
    der,
    leaf_cert: {
      subject: { aggregated: str(v.subject_aggregated), CN: str(v.subject_cn) },
      issuer: { aggregated: str(v.issuer_aggregated), CN: str(v.issuer_cn), O: str(v.issuer_o) },
      serial_number: str(v.serial_number),
      not_before: num(v.not_before),
      not_after: num(v.not_after),
      fingerprint: str(v.fingerprint),
      sha1: str(v.sha1),
      sha256: str(v.sha256),
      signature_algorithm: str(v.signature_algorithm),
      is_ca: typeof v.is_ca === "boolean" ? v.is_ca : null,
      all_domains: Array.isArray(v.all_domains) ? (v.all_domains as string[]) : [],
    },
    registered_domains: Array.isArray(v.registered_domains) ? (v.registered_domains as string[]) : null,
    validation_level: str(v.validation_level),
    key_algorithm: str(v.key_algorithm),
    key_bits: num(v.key_bits),
  };
}

/** An opaque, URL-safe reference to one row of one data file at one table version. */
export function derReference(version: number, path: string, row: number): string {
  return Buffer.from(JSON.stringify([version, path, row])).toString("base64url");
}

export function parseDerReference(ref: string): { version: number; path: string; row: number } {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(ref, "base64url").toString("utf8"));
  } catch {
    throw new SearchParamError("ref", "not a certificate reference this service issued");
  }
  if (
    !Array.isArray(p) ||
    p.length !== 3 ||
    !Number.isSafeInteger(p[0]) ||
    typeof p[1] !== "string" ||
    !Number.isSafeInteger(p[2]) ||
    (p[2] as number) < 0
  ) {
    throw new SearchParamError("ref", "not a certificate reference this service issued");
  }
  return { version: p[0], path: p[1], row: p[2] };
}
