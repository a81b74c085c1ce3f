import type { CertificateEntry } from "@certstream/schema";
import type { IHeaders } from "kafkajs";

/**
 * Headers of `entries` and `certs` records (documented in docs/asyncapi.yaml). They let consumers route and
 * filter without decoding Avro; the dedup stage forwards a record's bytes unchanged and decides from these alone.
 */
export const HEADER_LOG_ID = "certstream.log_id";
export const HEADER_LOG_INDEX = "certstream.log_index";
/** "1" when `leaf` is parsed, "0" when not (such entries stay in `entries` but are never forwarded to `certs`). */
export const HEADER_LEAF_PARSED = "certstream.leaf_parsed";
/** The parse_error kind when there is one. */
export const HEADER_PARSE_ERROR = "certstream.parse_error";
/**
 * On `certs` only: the offset of the `entries` record it was forwarded from (the same partition number). The dedup
 * stage reads back the last one it forwarded to know which entries it must compare with `certs` after a failure.
 */
export const HEADER_ENTRIES_OFFSET = "certstream.entries_offset";

export function entryHeaders(entry: CertificateEntry): IHeaders {
  const headers: IHeaders = {
    [HEADER_LOG_ID]: entry.log.id,
    [HEADER_LOG_INDEX]: String(entry.index),
    [HEADER_LEAF_PARSED]: entry.leaf ? "1" : "0",
  };
  if (entry.parse_error) headers[HEADER_PARSE_ERROR] = entry.parse_error.kind;
  return headers;
}

export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}
