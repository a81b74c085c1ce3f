// A bounded taxonomy for the `kind` label of error counters (seed 001: "error taxonomy ... auth, timeout,
// schema"). Every error maps to one of FAILURE_KINDS, so an error message never becomes a label value.

export const FAILURE_KINDS = [
  "auth", // 401/403, SASL, ACL (TOPIC_AUTHORIZATION_FAILED ...)
  "timeout", // request/connect timeouts, aborted by deadline
  "rate_limit", // 429, throttling, Retry-After
  "network", // refused, reset, DNS, TLS handshake, broker unreachable
  "http", // unexpected HTTP status (4xx other than above, 5xx)
  "schema", // Avro encode/decode, registry subject/compatibility errors, schema mismatch
  "parse", // malformed input: JSON, TLS structures, X.509, Merkle proofs
  "verify", // signatures, inclusion/consistency proofs, STH checks
  "storage", // filesystem / object store: ENOENT, EACCES, ENOSPC, EIO
  "conflict", // optimistic concurrency lost (Delta commit version exists), fenced producer
  "kafka", // other broker-side protocol errors
  "config", // invalid configuration found at run time
  "cancelled", // shutdown or caller abort
  "unknown",
] as const;

export type FailureKind = (typeof FAILURE_KINDS)[number];

const KIND_SET: ReadonlySet<string> = new Set(FAILURE_KINDS);

/** An error that states its own kind; throw it where the kind is known better than any heuristic. */
export class KindedError extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KindedError";
    this.kind = kind;
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
]);
const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ABORT_ERR",
]);
const STORAGE_CODES = new Set([
  "ENOENT",
  "EACCES",
  "EPERM",
  "ENOSPC",
  "EIO",
  "EROFS",
  "EISDIR",
  "ENOTDIR",
  "EMFILE",
  "EDQUOT",
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  kind?: unknown;
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  message?: unknown;
  cause?: unknown;
  retriable?: unknown;
  unauthorized?: unknown;
}

function statusKind(status: number): FailureKind | undefined {
  if (status === 401 || status === 403 || status === 407) return "auth";
  if (status === 429 || status === 503) return status === 429 ? "rate_limit" : "http";
  if (status === 408 || status === 504) return "timeout";
  if (status === 409) return "conflict";
  if (status >= 400) return "http";
  return undefined;
}

function kindOf(e: ErrorLike, depth: number): FailureKind {
  if (typeof e.kind === "string" && KIND_SET.has(e.kind)) return e.kind as FailureKind;
  const name = typeof e.name === "string" ? e.name : "";
  const code = typeof e.code === "string" ? e.code : "";
  const type = typeof e.type === "string" ? e.type : "";
  const message = typeof e.message === "string" ? e.message : "";

  if (name === "AbortError") return message.toLowerCase().includes("timeout") ? "timeout" : "cancelled";
  if (name === "TimeoutError" || TIMEOUT_CODES.has(code)) return "timeout";
  if (NETWORK_CODES.has(code)) return "network";
  if (STORAGE_CODES.has(code) || code.startsWith("ERR_FS_")) return "storage";

  // KafkaJS: error classes by name, broker error codes in `type` (e.g. TOPIC_AUTHORIZATION_FAILED).
  if (name.startsWith("KafkaJS")) {
    if (/AUTHORIZATION|AUTHENTICATION|SASL/.test(type) || name.includes("SASL")) return "auth";
    if (name === "KafkaJSRequestTimeoutError" || name === "KafkaJSTimeout" || type === "REQUEST_TIMED_OUT")
      return "timeout";
    if (
      name === "KafkaJSConnectionError" ||
      name === "KafkaJSConnectionClosedError" ||
      name === "KafkaJSBrokerNotFound"
    )
      return "network";
    if (/FENCED|CONCURRENT_TRANSACTIONS|INVALID_PRODUCER_EPOCH/.test(type) || name.includes("Fenced"))
      return "conflict";
    if (depth < 3 && e.cause && typeof e.cause === "object") {
      const inner = kindOf(e.cause as ErrorLike, depth + 1);
      if (inner !== "unknown") return inner;
    }
    return "kafka";
  }
  // Clients that fold a socket error into their own error (e.g. "status 400: connect ECONNREFUSED ..."): the
  // message names the Node error code.
  const codeInMessage = /\b(E[A-Z]{3,}[A-Z_]*)\b/.exec(message)?.[1];
  if (codeInMessage && TIMEOUT_CODES.has(codeInMessage)) return "timeout";
  if ((codeInMessage && NETWORK_CODES.has(codeInMessage)) || /socket hang up/i.test(message))
    return "network";
  if (e.unauthorized === true) return "auth";

  // avsc (the schema registry client's SchemaRegistryError states its kind).
  if (/schema|avro/i.test(name)) return "schema";
  if (/invalid .*(avro|schema)|unknown schema|incompatible schema|subject .*not found/i.test(message))
    return "schema";

  const status =
    typeof e.status === "number" ? e.status : typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (status !== undefined) {
    const k = statusKind(status);
    if (k) return k;
  }
  if (name === "SyntaxError" || name === "RangeError" || /parse|malformed|unexpected end/i.test(message))
    return "parse";
  if (/signature|proof|verif/i.test(message)) return "verify";
  if (/timed? ?out/i.test(message)) return "timeout";

  if (depth < 3 && e.cause && typeof e.cause === "object") return kindOf(e.cause as ErrorLike, depth + 1);
  return "unknown";
}

/** The bounded failure kind of any thrown value, for `kind` labels. Never throws. */
export function failureKind(err: unknown): FailureKind {
  if (err === null || typeof err !== "object") return "unknown";
  try {
    return kindOf(err as ErrorLike, 0);
  } catch {
    return "unknown";
  }
}
