import type { DeltaStructType } from "@certstream/delta";
import { CERTSTREAM_TABLE_SCHEMA } from "@certstream/delta";

/**
 * The archive table's schema, query columns included (libs/delta QUERY_COLUMNS: registered_domains, issuer_o,
 * log_name, not_before_ts, ... which the search filters on). Tables written before those columns read them as null.
 */
export const ARCHIVE_SCHEMA: DeltaStructType = CERTSTREAM_TABLE_SCHEMA;

/** The columns a result row shows (never the DER or the chain: those are a link away). */
export const RESULT_COLUMNS = [
  "cert_index",
  "update_type",
  "seen",
  "source_name",
  "source_url",
  "log_id",
  "log_name",
  "cert_link",
  "serial_number",
  "fingerprint",
  "sha256",
  "sha1",
  "not_before",
  "not_after",
  "is_ca",
  "signature_algorithm",
  "subject_aggregated",
  "issuer_aggregated",
  "subject_cn",
  "issuer_cn",
  "issuer_o",
  "all_domains",
  "registered_domains",
  "key_algorithm",
  "key_bits",
  "validation_level",
] as const;
