import type {
  CertificateEntry,
  ChainCertificate,
  LogSource,
  ParseError,
  UpdateType,
} from "@certstream/schema";
import { CertificateCache } from "./certificate-cache.ts";
import type { DecodedEntry, RawLogEntry } from "./entry.ts";
import { CtParseError } from "./errors.ts";
import { decodeRawEntry } from "./leaf.ts";
import { queryFields } from "./query-fields.ts";
import { parseCertificate } from "./x509-certificate.ts";

// Shared by every log in the process: issuers are shared across logs too.
const defaultChainCache = new CertificateCache();

const EMPTY = new Uint8Array(0);

function toParseError(err: unknown): ParseError {
  if (CtParseError.isCtParseError(err)) return { kind: err.kind, message: err.message };
  // Not a CtParseError means a bug in the parser, not bad input: still recorded, under its own kind.
  return { kind: "x509_invalid", message: `unexpected ${err instanceof Error ? err.message : String(err)}` };
}

/**
 * Turns a decoded entry into the record every topic carries. Never throws: a leaf that cannot be parsed gives
 * leaf = null and parse_error (kind x509_invalid), with leaf_der kept; an unparseable chain certificate gives
 * cert = null for that link. Precert leaves carry ctlPoisonByte: true whether or not the poison extension parsed.
 * The query fields (subject_cn, registered_domains, key_algorithm, ...) are set too (src/query-fields.ts).
 */
export function toCertificateEntry(
  log: LogSource,
  decoded: DecodedEntry,
  seenMicros: number,
  chainCache: CertificateCache = defaultChainCache,
): CertificateEntry {
  const precert = decoded.entryType === "precert";
  let leaf: CertificateEntry["leaf"] = null;
  let parseError: ParseError | null = null;
  try {
    leaf = parseCertificate(decoded.leafDer);
    if (precert) leaf.extensions.ctlPoisonByte = true;
  } catch (err) {
    parseError = toParseError(err);
  }
  const chain: ChainCertificate[] = [];
  for (let i = 0; i < decoded.chainDer.length; i++) {
    const der = decoded.chainDer[i];
    chain.push({ der, cert: chainCache.get(der) });
  }
  return {
    log,
    index: decoded.index,
    timestamp: decoded.timestamp,
    seen: seenMicros,
    update_type: precert ? "PrecertLogEntry" : "X509LogEntry",
    leaf_der: decoded.leafDer,
    leaf,
    chain,
    parse_error: parseError,
    raw: null,
    ...queryFields(log, leaf, decoded.leafDer),
  };
}

// What can still be read from a leaf_input that does not decode: the timestamp and entry type, if present.
function salvage(leafInput: Uint8Array): { timestamp: number; updateType: UpdateType } {
  let timestamp = 0;
  if (leafInput.length >= 10) {
    let t = 0;
    for (let i = 2; i < 10; i++) t = t * 256 + leafInput[i];
    if (Number.isSafeInteger(t)) timestamp = t;
  }
  const updateType: UpdateType =
    leafInput.length >= 12 && leafInput[10] === 0 && leafInput[11] === 1 ? "PrecertLogEntry" : "X509LogEntry";
  return { timestamp, updateType };
}

/**
 * Decodes and parses one RFC 6962 get-entries item. Never throws: an item that does not decode becomes a record
 * for its (log, index) with parse_error, empty leaf_der and the bytes as served in `raw`, so coverage stays exact;
 * a decoded item whose leaf does not parse also keeps `raw` (so it can be re-parsed later).
 */
export function fromRawEntry(
  log: LogSource,
  raw: RawLogEntry,
  seenMicros: number,
  chainCache: CertificateCache = defaultChainCache,
): CertificateEntry {
  let decoded: DecodedEntry;
  try {
    decoded = decodeRawEntry(raw);
  } catch (err) {
    const { timestamp, updateType } = salvage(raw.leafInput);
    return {
      log,
      index: raw.index,
      timestamp,
      seen: seenMicros,
      update_type: updateType,
      leaf_der: EMPTY,
      leaf: null,
      chain: [],
      parse_error: toParseError(err),
      raw: { leaf_input: raw.leafInput, extra_data: raw.extraData },
      ...queryFields(log, null, EMPTY),
    };
  }
  const entry = toCertificateEntry(log, decoded, seenMicros, chainCache);
  if (entry.parse_error !== null) entry.raw = { leaf_input: raw.leafInput, extra_data: raw.extraData };
  return entry;
}
