import type { TreeFields } from "./tree-verification.ts";

/**
 * The unit every topic carries: one entry of one CT log. Mirrors avro/CertificateEntry.avsc field for field;
 * a change here is a schema change (evolve compatibly: add fields with defaults, never rename).
 */

export type LogKind = "rfc6962" | "static";
export type UpdateType = "X509LogEntry" | "PrecertLogEntry";

export interface LogSource {
  /** Base64 log id (SHA-256 of the log's public key). */
  id: string;
  name: string;
  /** RFC 6962 base URL or static-ct-api monitoring prefix, ending with "/". */
  url: string;
  operator: string;
  kind: LogKind;
}

export interface DistinguishedName {
  C: string | null;
  CN: string | null;
  L: string | null;
  O: string | null;
  OU: string | null;
  ST: string | null;
  emailAddress: string | null;
  /** e.g. "/C=US/CN=example.com/O=Example" */
  aggregated: string;
}

export interface Certificate {
  subject: DistinguishedName;
  issuer: DistinguishedName;
  /** Upper-case hex. */
  serial_number: string;
  /** Seconds since the epoch. */
  not_before: number;
  not_after: number;
  /** SHA-1 of the DER, colon-separated upper-case hex (same as sha1). */
  fingerprint: string;
  sha1: string;
  sha256: string;
  signature_algorithm: string;
  is_ca: boolean;
  /** CN ∪ SAN dNSNames, in order, no repeats. */
  all_domains: string[];
  /** Extensions as certstream names them. */
  extensions: Record<string, string | boolean>;
}

export interface ChainCertificate {
  der: Uint8Array;
  /** Null when this chain certificate could not be parsed. */
  cert: Certificate | null;
}

export interface ParseError {
  /** Bounded code usable as a metric label. */
  kind: string;
  message: string;
}

export interface RawEntry {
  leaf_input: Uint8Array;
  extra_data: Uint8Array;
}

/** CA/Browser Forum validation level of a certificate (from its policy OIDs). */
export type ValidationLevel = "DV" | "OV" | "IV" | "EV";

/**
 * Query-friendly fields derived from the leaf and the log (libs/ct `queryFields`), the same as the archive's
 * columns of the same names. Added to the schema later: records written before carry none of them (decoded with
 * the current schema they read as null).
 */
export interface QueryFields {
  subject_cn: string | null;
  issuer_cn: string | null;
  /** Issuer organisation, e.g. "Let's Encrypt". */
  issuer_o: string | null;
  /** eTLD+1 of all_domains by the Public Suffix List, lower case, first-seen order, no repeats. */
  registered_domains: string[] | null;
  /** The log's short name, lower case ("argon2026h2"). */
  log_name: string | null;
  /** RSA, RSA-PSS, ECDSA, Ed25519, Ed448, DSA, SM2, or a dotted OID. */
  key_algorithm: string | null;
  key_bits: number | null;
  validation_level: ValidationLevel | null;
  /** Leaf notBefore / notAfter, milliseconds since the epoch (Avro timestamp-millis). */
  not_before_ts: number | null;
  not_after_ts: number | null;
}

/** Optional in the type: absent in records of older writers and in entries built without them. */
export interface CertificateEntry extends Partial<QueryFields>, Partial<TreeFields> {
  log: LogSource;
  index: number;
  /** TimestampedEntry.timestamp, milliseconds since the epoch. */
  timestamp: number;
  /** When it was read from the log, microseconds since the epoch. */
  seen: number;
  update_type: UpdateType;
  /** Leaf certificate DER; for precerts the pre_certificate. Empty when the leaf could not be decoded. */
  leaf_der: Uint8Array;
  /** Null when the leaf certificate could not be parsed (parse_error says why). */
  leaf: Certificate | null;
  chain: ChainCertificate[];
  parse_error: ParseError | null;
  /** The entry's bytes as served, kept only when it could not be decoded. */
  raw: RawEntry | null;
}
