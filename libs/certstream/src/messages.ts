import type { CertificateEntry, LogSource } from "@certstream/schema";
import { certLink } from "./cert-link.ts";
import { base64, ChainJsonCache, leafCertJson } from "./certificate-json.ts";
import { jsonFloat, jsonString, jsonStringArray } from "./json-text.ts";
import type { MessageFormat } from "./message-format.ts";

/*
 * certstream wire messages, built as strings from precomputed fragments (bench/parse.bench.ts compares this
 * with JSON.stringify). Layout (key order as certstream-server-rust):
 *
 * full:    {"message_type":"certificate_update","data":{"update_type":…,"leaf_cert":{…,"as_der":…},
 *           "chain":[…],"cert_index":N,"cert_link":…,"seen":S,"submission_timestamp":T,"source":{"name":…,"url":…}}}
 * lite:    the same without leaf_cert.as_der and without chain
 * domains: {"message_type":"dns_entries","data":[…all_domains]}
 * heartbeat: {"message_type":"heartbeat","timestamp":S}
 *
 * An entry whose leaf certificate could not be parsed (entry.leaf === null) renders to null in every format:
 * certstream clients expect a parsed leaf_cert, and such entries are archived, not streamed.
 */

const defaultChainCache = new ChainJsonCache();

// Per-log fragments, built once per log (as pino builds a child's bindings once).
interface LogFragments {
  /** `,"source":{"name":…,"url":…}}}` — the message's closing text. */
  sourceTail: string;
}
const logFragments = new Map<string, LogFragments>();

function fragmentsFor(log: LogSource): LogFragments {
  const key = `${log.kind}\u0000${log.url}\u0000${log.name}`;
  let f = logFragments.get(key);
  if (f === undefined) {
    f = {
      sourceTail: `,"source":{"name":${jsonString(log.name)},"url":${jsonString(log.url)}}}}`,
    };
    if (logFragments.size >= 10_000) logFragments.clear();
    logFragments.set(key, f);
  }
  return f;
}

/** The text shared by full and lite after leaf_cert (and chain): index, link, seen, timestamp, source. */
function dataTail(entry: CertificateEntry): string {
  const f = fragmentsFor(entry.log);
  return (
    `,"cert_index":${entry.index},"cert_link":${jsonString(certLink(entry.log, entry.index))}` +
    `,"seen":${jsonFloat(entry.seen / 1e6)},"submission_timestamp":${jsonFloat(entry.timestamp / 1000)}` +
    f.sourceTail
  );
}

/** The chain array of a full message (each parsed chain certificate, rendered once per cache). */
export function chainJson(entry: CertificateEntry, cache: ChainJsonCache): string {
  let s = "";
  const chain = entry.chain;
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i];
    // A chain certificate that could not be parsed is left out (as the reference does); its DER stays in the record.
    if (link.cert === null) continue;
    const json = cache.get(link.cert, link.der);
    s += s === "" ? json : `,${json}`;
  }
  return `[${s}]`;
}

/** The messages of one entry, each format rendered once. */
export interface RenderedMessages {
  full: string | null;
  lite: string | null;
  domains: string | null;
}

/** Renders the requested formats of one entry, sharing the common fragments. Null formats were not requested. */
export function renderMessages(
  entry: CertificateEntry,
  formats: readonly MessageFormat[] = ["full", "lite", "domains"],
  chainCache: ChainJsonCache = defaultChainCache,
): RenderedMessages {
  const out: RenderedMessages = { full: null, lite: null, domains: null };
  const leaf = entry.leaf;
  if (leaf === null) return out;
  let wantFull = false;
  let wantLite = false;
  for (let i = 0; i < formats.length; i++) {
    if (formats[i] === "full") wantFull = true;
    else if (formats[i] === "lite") wantLite = true;
    else out.domains = `{"message_type":"dns_entries","data":${jsonStringArray(leaf.all_domains)}}`;
  }
  if (!wantFull && !wantLite) return out;
  const head = `{"message_type":"certificate_update","data":{"update_type":"${entry.update_type}","leaf_cert":`;
  const leafJson = leafCertJson(leaf);
  const tail = dataTail(entry);
  if (wantFull) {
    out.full = `${head}${leafJson.head},"as_der":"${base64(entry.leaf_der)}"${leafJson.tail},"chain":${chainJson(entry, chainCache)}${tail}`;
  }
  if (wantLite) out.lite = `${head}${leafJson.head}${leafJson.tail}${tail}`;
  return out;
}

/** `certificate_update` with leaf_cert.as_der and chain[] (each with as_der); null when the leaf did not parse. */
export function renderFull(entry: CertificateEntry): string | null {
  return renderMessages(entry, FULL).full;
}

/** `certificate_update` without as_der and without chain; null when the leaf did not parse. */
export function renderLite(entry: CertificateEntry): string | null {
  return renderMessages(entry, LITE).lite;
}

/** `dns_entries` with leaf all_domains; null when the leaf did not parse. */
export function renderDomainsOnly(entry: CertificateEntry): string | null {
  return entry.leaf === null
    ? null
    : `{"message_type":"dns_entries","data":${jsonStringArray(entry.leaf.all_domains)}}`;
}

/** `{"message_type":"heartbeat","timestamp":<float seconds>}` */
export function renderHeartbeat(nowSeconds: number): string {
  return `{"message_type":"heartbeat","timestamp":${jsonFloat(nowSeconds)}}`;
}

const FULL: readonly MessageFormat[] = ["full"];
const LITE: readonly MessageFormat[] = ["lite"];
