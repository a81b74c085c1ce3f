import type { LogSource } from "@certstream/schema";

/**
 * What a log client hands to the parser: one entry, decoded from the log's wire format but not yet X.509-parsed.
 * RFC 6962 clients decode it from get-entries (MerkleTreeLeaf + extra_data); static-ct-api clients from a data
 * tile's TileLeaf with the chain resolved from issuer/<fingerprint>.
 */
export interface DecodedEntry {
  index: number;
  /** TimestampedEntry.timestamp, milliseconds since the epoch. */
  timestamp: number;
  /** entry_type: 0 x509_entry, 1 precert_entry. */
  entryType: "x509" | "precert";
  /** x509_entry: the certificate; precert_entry: the pre_certificate (from extra_data or the TileLeaf). */
  leafDer: Uint8Array;
  /** Issuer chain, leaf's issuer first. */
  chainDer: Uint8Array[];
}

/** An RFC 6962 get-entries item, base64-decoded. */
export interface RawLogEntry {
  index: number;
  leafInput: Uint8Array;
  extraData: Uint8Array;
}

/** A log as the clients and parser know it. */
export type { LogSource };
