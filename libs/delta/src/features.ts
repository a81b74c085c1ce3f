import type { MetadataAction, ProtocolAction } from "./actions.ts";
import { UnsupportedFeatureError } from "./errors.ts";

/**
 * Reader features whose data can be read without doing anything special here: timestampNtz (Parquet reads it as a
 * plain timestamp), vacuumProtocolCheck (only constrains VACUUM).
 */
export const SUPPORTED_READER_FEATURES: readonly string[] = ["timestampNtz", "vacuumProtocolCheck"];

/**
 * Writer features this writer honours. We write protocol (1, 2) tables; writer version 2 means appendOnly and
 * invariants, both respected (we only append and emit no invariants).
 */
export const SUPPORTED_WRITER_FEATURES: readonly string[] = ["appendOnly", "invariants"];

/** Throws UnsupportedFeatureError naming the first feature a reader of this table would need and we lack. */
export function checkReadable(protocol: ProtocolAction, metadata: MetadataAction | null): void {
  const rv = protocol.minReaderVersion;
  if (rv > 3) {
    throw new UnsupportedFeatureError(
      `minReaderVersion=${rv}`,
      `table requires reader protocol version ${rv}; supported: 1-3`,
    );
  }
  if (rv === 2) {
    const mode = metadata?.configuration?.["delta.columnMapping.mode"] ?? "none";
    throw new UnsupportedFeatureError(
      "columnMapping",
      `table requires reader feature columnMapping (minReaderVersion 2, delta.columnMapping.mode=${mode}); not supported`,
    );
  }
  if (rv === 3) {
    const missing = (protocol.readerFeatures ?? []).filter((f) => !SUPPORTED_READER_FEATURES.includes(f));
    if (missing.length > 0) {
      throw new UnsupportedFeatureError(
        missing[0],
        `table requires reader features [${missing.join(", ")}]; supported: [${SUPPORTED_READER_FEATURES.join(", ")}]`,
      );
    }
  }
  // Column mapping can also be switched on by configuration under a (3,7) protocol listing it.
  const mode = metadata?.configuration?.["delta.columnMapping.mode"];
  if (mode && mode !== "none") {
    throw new UnsupportedFeatureError(
      "columnMapping",
      `table uses column mapping (delta.columnMapping.mode=${mode}); not supported`,
    );
  }
}

/** Throws when we must not write to this table (writer version or features beyond what we implement). */
export function checkWritable(protocol: ProtocolAction, metadata: MetadataAction | null): void {
  checkReadable(protocol, metadata);
  const wv = protocol.minWriterVersion;
  if (wv > 7 || (wv > 2 && wv < 7)) {
    throw new UnsupportedFeatureError(
      `minWriterVersion=${wv}`,
      `table requires writer protocol version ${wv}; this writer supports 1, 2 and 7 with features [${SUPPORTED_WRITER_FEATURES.join(", ")}]`,
    );
  }
  if (wv === 7) {
    const missing = (protocol.writerFeatures ?? []).filter((f) => !SUPPORTED_WRITER_FEATURES.includes(f));
    if (missing.length > 0) {
      throw new UnsupportedFeatureError(
        missing[0],
        `table requires writer features [${missing.join(", ")}]; supported: [${SUPPORTED_WRITER_FEATURES.join(", ")}]`,
      );
    }
  }
}
