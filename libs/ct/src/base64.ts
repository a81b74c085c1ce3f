// Strict standard base64 (RFC 4648 §4, padded) without a regex over every byte: Node's decoder skips characters
// outside the alphabet (so the decoded length comes out short) but accepts the URL-safe "-" and "_" (so those are
// looked for explicitly). About five times faster than a full-string regex on get-entries bodies.

/** Decoded bytes, or null when `value` is not a padded standard-base64 string. */
export function decodeBase64Strict(value: unknown): Uint8Array | null {
  if (typeof value !== "string" || value.length % 4 !== 0) return null;
  if (value.includes("-") || value.includes("_")) return null;
  const pad = value.endsWith("==") ? 2 : value.endsWith("=") ? 1 : 0;
  const bytes = Buffer.from(value, "base64");
  if (bytes.length !== (value.length / 4) * 3 - pad) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
