import type { CertificateEntry, EntryVerification } from "@certstream/schema";
import { certLink } from "./cert-link.ts";
import { base64, ChainJsonCache, leafCertJson } from "./certificate-json.ts";
import { jsonFloat, jsonNullableString, jsonString, jsonStringArray } from "./json-text.ts";
import type { MessageFormat } from "./message-format.ts";
import { chainJson } from "./messages.ts";

/*
 * The v2 message (issue 18; opt-in: `?format=v2` on any stream or a `/v2/...` path; certstream v1 is unchanged).
 * Schema: libs/certstream/schema/certstream-v2.schema.json; documented in README.md and docs/asyncapi.yaml.
 *
 * full/lite: {"message_type":"certificate_update","format":"v2","data":{"update_type":…,
 *   "log":{"id","name","url","operator","kind"},"leaf_index":N,"leaf_hash":b64|null,"entry_timestamp":S,
 *   "seen":S,"cert_link":…,"verification":{"state","tree_size","tree_timestamp"},"tbs_hash":b64|null,
 *   "precert":{…}|null,"registered_domains":[…]|null,"validation_level","key_algorithm","key_bits",
 *   "issuer_organization","leaf_cert":{… v1 leaf_cert, as_der in full},"chain":[…] (full only)}}
 * domains: {"message_type":"dns_entries","format":"v2","data":[…all_domains],"registered_domains":[…]|null,
 *   "log":{"id","name"},"leaf_index":N,"verification":{…}}
 * Times are float seconds, as in v1. Entries without a parsed leaf render to null (as in v1).
 */

/** Where we saw the precertificate a final certificate was issued from (same tbs_hash). */
export interface PrecertSighting {
  log_id: string;
  log_name: string;
  leaf_index: number;
  /** Base64 leaf hash, null when unknown. */
  leaf_hash: string | null;
  /** When the precertificate was read from its log, float seconds. */
  seen: number;
}

const UNVERIFIABLE: EntryVerification = { state: "unverifiable", tree_size: null, tree_timestamp: null };

function b64OrNull(b: Uint8Array | null | undefined): string {
  return b ? `"${base64(b)}"` : "null";
}

function verificationJson(v: EntryVerification | null | undefined): string {
  const x = v ?? UNVERIFIABLE;
  return (
    `{"state":"${x.state}","tree_size":${x.tree_size ?? "null"}` +
    `,"tree_timestamp":${x.tree_timestamp === null ? "null" : jsonFloat(x.tree_timestamp / 1000)}}`
  );
}

function precertJson(p: PrecertSighting | null): string {
  if (p === null) return "null";
  return (
    `{"log_id":${jsonString(p.log_id)},"log_name":${jsonString(p.log_name)},"leaf_index":${p.leaf_index}` +
    `,"leaf_hash":${jsonNullableString(p.leaf_hash)},"seen":${jsonFloat(p.seen)}}`
  );
}

const defaultChainCache = new ChainJsonCache();

/**
 * The v2 message of one entry for one stream; null when its leaf did not parse. `precert`: for a final
 * certificate, the precertificate with the same tbs_hash seen before it (PrecertIndex), else null.
 */
export function renderV2(
  entry: CertificateEntry,
  stream: MessageFormat,
  precert: PrecertSighting | null = null,
  chainCache: ChainJsonCache = defaultChainCache,
): string | null {
  const leaf = entry.leaf;
  if (leaf === null) return null;
  const log = entry.log;
  const registered = entry.registered_domains ? jsonStringArray(entry.registered_domains) : "null";
  const verification = verificationJson(entry.tree_verification);
  if (stream === "domains") {
    return (
      `{"message_type":"dns_entries","format":"v2","data":${jsonStringArray(leaf.all_domains)}` +
      `,"registered_domains":${registered},"log":{"id":${jsonString(log.id)},"name":${jsonString(log.name)}}` +
      `,"leaf_index":${entry.index},"verification":${verification}}`
    );
  }
  const leafJson = leafCertJson(leaf);
  const leafCert =
    stream === "full"
      ? `${leafJson.head},"as_der":"${base64(entry.leaf_der)}"${leafJson.tail},"chain":${chainJson(entry, chainCache)}`
      : `${leafJson.head}${leafJson.tail}`;
  return (
    `{"message_type":"certificate_update","format":"v2","data":{"update_type":"${entry.update_type}"` +
    `,"log":{"id":${jsonString(log.id)},"name":${jsonString(log.name)},"url":${jsonString(log.url)}` +
    `,"operator":${jsonString(log.operator)},"kind":"${log.kind}"}` +
    `,"leaf_index":${entry.index},"leaf_hash":${b64OrNull(entry.leaf_hash)}` +
    `,"entry_timestamp":${jsonFloat(entry.timestamp / 1000)},"seen":${jsonFloat(entry.seen / 1e6)}` +
    `,"cert_link":${jsonString(certLink(log, entry.index))},"verification":${verification}` +
    `,"tbs_hash":${b64OrNull(entry.tbs_hash)},"precert":${precertJson(precert)}` +
    `,"registered_domains":${registered},"validation_level":${jsonNullableString(entry.validation_level ?? null)}` +
    `,"key_algorithm":${jsonNullableString(entry.key_algorithm ?? null)},"key_bits":${entry.key_bits ?? "null"}` +
    `,"issuer_organization":${jsonNullableString(entry.issuer_o ?? null)}` +
    `,"leaf_cert":${leafCert}}}`
  );
}

/**
 * Precertificates seen, by tbs_hash, so a final certificate's v2 message can say which precertificate it was
 * issued from. Bounded (the oldest sighting goes first): a final certificate is logged seconds to minutes after
 * its precertificate, so the last `capacity` precertificates cover it on a live stream. First sighting wins
 * (the same precertificate is logged to several logs).
 */
export class PrecertIndex {
  readonly #capacity: number;
  readonly #byTbs = new Map<string, PrecertSighting>();

  constructor(capacity = 65_536) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#byTbs.size;
  }

  /** Records a precertificate entry (anything else is ignored). */
  note(entry: CertificateEntry): void {
    if (entry.update_type !== "PrecertLogEntry" || !entry.tbs_hash) return;
    const key = base64(entry.tbs_hash);
    if (this.#byTbs.has(key)) return;
    if (this.#byTbs.size >= this.#capacity) this.#byTbs.delete(this.#byTbs.keys().next().value as string);
    this.#byTbs.set(key, {
      log_id: entry.log.id,
      log_name: entry.log.name,
      leaf_index: entry.index,
      leaf_hash: entry.leaf_hash ? base64(entry.leaf_hash) : null,
      seen: entry.seen / 1e6,
    });
  }

  /** For a final certificate: its precertificate, if one was seen no later than the certificate. */
  lookup(entry: CertificateEntry): PrecertSighting | null {
    if (entry.update_type !== "X509LogEntry" || !entry.tbs_hash) return null;
    const hit = this.#byTbs.get(base64(entry.tbs_hash));
    return hit && hit.seen <= entry.seen / 1e6 ? hit : null;
  }
}
