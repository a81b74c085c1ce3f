/**
 * Every error libs/ct raises, declared once (fastify-style): a closed table of codes, each with the bounded
 * `kind` used as a metric label and in CertificateEntry.parse_error, and a description for the docs.
 * Call sites name the exact structure or field that failed in the message ("MerkleTreeLeaf.timestamp truncated");
 * the kind is the only label that reaches metrics and logs' error fields, which keeps cardinality bounded.
 */

export const ctParseErrors = {
  CT_ERR_BASE64_INVALID: {
    kind: "base64_invalid",
    description: "get-entries leaf_input or extra_data is not valid base64",
  },
  CT_ERR_LEAF_TRUNCATED: {
    kind: "leaf_truncated",
    description: "the MerkleTreeLeaf ends before a field it declares",
  },
  CT_ERR_UNKNOWN_LEAF_VERSION: {
    kind: "unknown_leaf_version",
    description: "MerkleTreeLeaf.version is not v1 (0)",
  },
  CT_ERR_UNKNOWN_LEAF_TYPE: {
    kind: "unknown_leaf_type",
    description: "MerkleTreeLeaf.leaf_type is not timestamped_entry (0)",
  },
  CT_ERR_UNKNOWN_ENTRY_TYPE: {
    kind: "unknown_entry_type",
    description: "TimestampedEntry.entry_type is neither x509_entry (0) nor precert_entry (1)",
  },
  CT_ERR_EXTRA_DATA_INVALID: {
    kind: "extra_data_invalid",
    description:
      "extra_data is not a valid certificate_chain (x509_entry) or PrecertChainEntry (precert_entry)",
  },
  CT_ERR_TRAILING_BYTES: {
    kind: "trailing_bytes",
    description: "bytes left over after a complete MerkleTreeLeaf or extra_data structure",
  },
  CT_ERR_X509_INVALID: {
    kind: "x509_invalid",
    description:
      "the leaf certificate cannot be parsed even leniently (no subject, issuer, serial or validity)",
  },
} as const;

export type CtParseErrorCode = keyof typeof ctParseErrors;
export type CtParseErrorKind = (typeof ctParseErrors)[CtParseErrorCode]["kind"];

const codeByKind = new Map<string, CtParseErrorCode>();
for (const code of Object.keys(ctParseErrors) as CtParseErrorCode[])
  codeByKind.set(ctParseErrors[code].kind, code);

/** The closed list of parse error kinds (metric label values). */
export const ctParseErrorKinds: readonly CtParseErrorKind[] = Object.values(ctParseErrors).map((e) => e.kind);

const kCtError = Symbol.for("certstream.ct.error");

/** Base of every libs/ct error: a stable code, whether retrying can help, and the cause. */
export class CtError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CtError";
    this.code = code;
    this.retryable = options?.retryable ?? false;
    Object.defineProperty(this, kCtError, { value: true });
  }

  /** Brand check that works across duplicated package copies (no instanceof). */
  static isCtError(value: unknown): value is CtError {
    return (
      typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[kCtError] === true
    );
  }
}

/** Malformed bytes from a log: never retryable, always recorded with its (log, index) and kind. */
export class CtParseError extends CtError {
  readonly kind: CtParseErrorKind;
  constructor(kind: CtParseErrorKind, message: string, options?: { cause?: unknown }) {
    super(codeByKind.get(kind) as CtParseErrorCode, message, options);
    this.name = "CtParseError";
    this.kind = kind;
  }

  static isCtParseError(value: unknown): value is CtParseError {
    return CtError.isCtError(value) && typeof (value as CtParseError).kind === "string";
  }
}
