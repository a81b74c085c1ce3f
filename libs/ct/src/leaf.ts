import type { DecodedEntry, RawLogEntry } from "./entry.ts";
import { CtParseError } from "./errors.ts";
import { TlsReader } from "./tls-reader.ts";

/** LogEntryType (RFC 6962 §3.1): x509_entry(0), precert_entry(1). */
export type LogEntryType = "x509" | "precert";

/**
 * struct {
 *   opaque issuer_key_hash[32];
 *   TBSCertificate tbs_certificate;   // opaque tbs_certificate<1..2^24-1>
 * } PreCert;
 */
export interface PreCert {
  /** PreCert.issuer_key_hash: SHA-256 of the issuer's SubjectPublicKeyInfo. */
  issuerKeyHash: Uint8Array;
  /** PreCert.tbs_certificate: DER TBSCertificate without the poison extension. */
  tbsCertificate: Uint8Array;
}

/**
 * struct {
 *   uint64 timestamp;
 *   LogEntryType entry_type;
 *   select(entry_type) {
 *     case x509_entry: ASN.1Cert;        // opaque ASN.1Cert<1..2^24-1>
 *     case precert_entry: PreCert;
 *   } signed_entry;
 *   CtExtensions extensions;             // opaque CtExtensions<0..2^16-1>
 * } TimestampedEntry;
 */
export interface TimestampedEntry {
  /** Milliseconds since the epoch. */
  timestamp: number;
  entryType: LogEntryType;
  /** x509_entry: the leaf certificate DER; null for precert_entry. */
  x509Entry: Uint8Array | null;
  /** precert_entry: the PreCert; null for x509_entry. */
  precertEntry: PreCert | null;
  extensions: Uint8Array;
}

/**
 * struct {
 *   Version version;                     // v1(0)
 *   MerkleLeafType leaf_type;            // timestamped_entry(0)
 *   select (leaf_type) {
 *     case timestamped_entry: TimestampedEntry;
 *   }
 * } MerkleTreeLeaf;
 */
export interface MerkleTreeLeaf {
  version: 0;
  leafType: 0;
  timestampedEntry: TimestampedEntry;
}

/**
 * struct {
 *   ASN.1Cert pre_certificate;
 *   ASN.1Cert precertificate_chain<0..2^24-1>;
 * } PrecertChainEntry;
 */
export interface PrecertChainEntry {
  /** The precertificate as submitted (poison extension included). */
  preCertificate: Uint8Array;
  precertificateChain: Uint8Array[];
}

/** Parses a MerkleTreeLeaf (get-entries leaf_input); throws CtParseError, never reads past `bytes`. */
export function readMerkleTreeLeaf(bytes: Uint8Array): MerkleTreeLeaf {
  const r = new TlsReader(bytes, "MerkleTreeLeaf", "leaf_truncated");
  const version = r.uint8("version");
  if (version !== 0)
    throw new CtParseError("unknown_leaf_version", `MerkleTreeLeaf.version ${version} is not v1 (0)`);
  const leafType = r.uint8("leaf_type");
  if (leafType !== 0) {
    throw new CtParseError(
      "unknown_leaf_type",
      `MerkleTreeLeaf.leaf_type ${leafType} is not timestamped_entry (0)`,
    );
  }
  const timestamp = r.uint64("timestamp");
  const entryType = r.uint16("entry_type");
  let x509Entry: Uint8Array | null = null;
  let precertEntry: PreCert | null = null;
  switch (entryType) {
    case 0: // x509_entry
      x509Entry = r.vector24("signed_entry.x509_entry");
      break;
    case 1: // precert_entry
      precertEntry = {
        issuerKeyHash: r.fixed(32, "signed_entry.precert_entry.issuer_key_hash"),
        tbsCertificate: r.vector24("signed_entry.precert_entry.tbs_certificate"),
      };
      break;
    default:
      throw new CtParseError(
        "unknown_entry_type",
        `TimestampedEntry.entry_type ${entryType} is neither x509_entry (0) nor precert_entry (1)`,
      );
  }
  const extensions = r.vector16("extensions");
  if (r.remaining !== 0) {
    throw new CtParseError(
      "trailing_bytes",
      `MerkleTreeLeaf has ${r.remaining} trailing bytes after extensions`,
    );
  }
  return {
    version: 0,
    leafType: 0,
    timestampedEntry: {
      timestamp,
      entryType: entryType === 0 ? "x509" : "precert",
      x509Entry,
      precertEntry,
      extensions,
    },
  };
}

// `vectorName` is "<struct>.<field>", passed as a constant so the happy path builds no strings.
function readChain(r: TlsReader, field: string, vectorName: string): Uint8Array[] {
  const chainBytes = r.vector24(field);
  const chain: Uint8Array[] = [];
  const c = new TlsReader(chainBytes, vectorName, "extra_data_invalid");
  while (c.remaining > 0) chain.push(c.vector24("ASN.1Cert"));
  return chain;
}

/** extra_data of an x509_entry: ASN.1Cert certificate_chain<0..2^24-1> (X509ChainEntry without the leaf). */
export function readCertificateChain(bytes: Uint8Array): Uint8Array[] {
  const r = new TlsReader(bytes, "X509ChainEntry", "extra_data_invalid");
  const chain = readChain(r, "certificate_chain", "X509ChainEntry.certificate_chain");
  if (r.remaining !== 0) {
    throw new CtParseError(
      "trailing_bytes",
      `X509ChainEntry has ${r.remaining} trailing bytes after certificate_chain`,
    );
  }
  return chain;
}

/** extra_data of a precert_entry: the whole PrecertChainEntry. */
export function readPrecertChainEntry(bytes: Uint8Array): PrecertChainEntry {
  const r = new TlsReader(bytes, "PrecertChainEntry", "extra_data_invalid");
  const preCertificate = r.vector24("pre_certificate");
  const precertificateChain = readChain(r, "precertificate_chain", "PrecertChainEntry.precertificate_chain");
  if (r.remaining !== 0) {
    throw new CtParseError(
      "trailing_bytes",
      `PrecertChainEntry has ${r.remaining} trailing bytes after precertificate_chain`,
    );
  }
  return { preCertificate, precertificateChain };
}

/** What extra_data adds to a leaf: the leaf certificate for precerts (the pre_certificate) and the issuer chain. */
export interface ExtraData {
  /** precert_entry: PrecertChainEntry.pre_certificate; x509_entry: null (the certificate is in the leaf). */
  preCertificate: Uint8Array | null;
  chain: Uint8Array[];
}

/** Parses get-entries extra_data according to the leaf's entry_type. */
export function readExtraData(entryType: LogEntryType, bytes: Uint8Array): ExtraData {
  if (entryType === "x509") return { preCertificate: null, chain: readCertificateChain(bytes) };
  const entry = readPrecertChainEntry(bytes);
  return { preCertificate: entry.preCertificate, chain: entry.precertificateChain };
}

/**
 * Decodes an RFC 6962 get-entries item into what the X.509 parser needs. For precert_entry the leaf is the
 * pre_certificate from extra_data (poison included: that is what certstream shows and fingerprints), the chain
 * precertificate_chain; for x509_entry the leaf is the certificate in the MerkleTreeLeaf, the chain
 * certificate_chain. Throws CtParseError.
 */
export function decodeRawEntry(raw: RawLogEntry): DecodedEntry {
  const te = readMerkleTreeLeaf(raw.leafInput).timestampedEntry;
  const extra = readExtraData(te.entryType, raw.extraData);
  return {
    index: raw.index,
    timestamp: te.timestamp,
    entryType: te.entryType,
    leafDer: te.x509Entry ?? (extra.preCertificate as Uint8Array),
    chainDer: extra.chain,
  };
}
