import type { DeltaStructField, DeltaStructType } from "@certstream/delta";
import { arrayOf, CERTSTREAM_TABLE_SCHEMA, field } from "@certstream/delta";

/**
 * The query columns the search filters on (issue 15 adds them to the archive table: libs/delta QUERY_COLUMNS).
 * Listed here too so that tables written by this library (the generator) have them whichever version of the
 * archive schema libs/delta exports; a column already in CERTSTREAM_TABLE_SCHEMA is not added twice.
 */
const QUERY_FIELDS: DeltaStructField[] = [
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

export const ARCHIVE_SCHEMA: DeltaStructType = {
  type: "struct",
  fields: [
    ...CERTSTREAM_TABLE_SCHEMA.fields,
    ...QUERY_FIELDS.filter((f) => !CERTSTREAM_TABLE_SCHEMA.fields.some((g) => g.name === f.name)),
  ],
};

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
