import { bool, int, list, map, num, optInt, optStr, section, str, strs } from "../spec.ts";

export const ct_log = section({
  /** Entries per get-entries request (the log may serve fewer; the client learns its real page size). */
  batch_size: int(256, { min: 1, max: 10_000 }),
  poll_interval_ms: int(1000, { min: 50 }),
  fetch_concurrency: int(4, { min: 1, max: 64 }),
  request_timeout_secs: int(30, { min: 1 }),
  retry_max_attempts: int(8, { min: 0 }),
  retry_initial_delay_ms: int(500, { min: 1 }),
  retry_max_delay_ms: int(60_000, { min: 1 }),
  /** A log never seen before starts this many entries behind its head. */
  start_overlap_leaves: int(1000, { min: 0 }),
  /**
   * A static log's partial tile at the right edge is fetched once it has been partial this long (it is fetched
   * at once when a checkpoint shows it full). 0: as soon as a checkpoint shows it, the lowest latency.
   */
  partial_tile_wait_secs: int(0, { min: 0 }),
  log_refresh_interval_secs: int(3600, { min: 10 }),
  excluded_operators: strs(),
  excluded_logs: strs(),
  /** Requests per second per operator name; operators not listed get default_rate_limit. */
  operator_rate_limits: map(num(10, { min: 0.01 })),
  default_rate_limit: num(10, { min: 0.01 }),
  /**
   * The User-Agent sent to CT logs and the log list, verbatim. Empty (the default): `certstream-kafka/<version>`,
   * plus ` (+<contact>)` when `contact` is set.
   */
  user_agent: str(""),
  /** How CT log operators reach whoever runs this deployment (e-mail or URL), appended to the default User-Agent. */
  contact: str(""),
  /** Chrome v3 log list; log_list_path (a file) wins over the URL when set. */
  log_list_enabled: bool(true),
  log_list_url: str("https://www.gstatic.com/ct/log_list/v3/log_list.json", { url: true }),
  log_list_path: optStr(),
  /** PEM public key that signs the list; when set the .sig is checked. */
  log_list_signature_key_path: optStr(),
  /** Ceiling on any CT log response body, decompressed; each response is also bounded by what it can
   * legitimately hold (libs/ct response-limits.ts: 8 MiB for a data tile), whichever is lower. */
  max_response_bytes: int(64 * 1024 * 1024, { min: 1024 }),
  /** static-ct-api: check each checkpoint's consistency with the previous one and every data tile's inclusion
   * against the log's hash tiles (a few extra tile requests per checkpoint). */
  verify_static_merkle: bool(false),
  /**
   * Tree verification of every entry (issue 18, docs/verification.md): the ingester hashes each log's entries
   * into its compact Merkle range, stored with the position, and compares the root with every signed tree head
   * its position reaches. off: nothing hashed; observe: a mismatch is a metric, an alert and a log line;
   * enforce: and the log stops publishing until an operator resets it (POST /api/logs/<id>/verification/reset).
   */
  verify: str("observe", { oneOf: ["off", "observe", "enforce"] }),
});

const logFields = {
  name: str("", { required: true }),
  url: str("", { required: true, url: true }),
  operator: str("custom"),
  /** Base64 log id; when set it must match the key's. */
  log_id: optStr(),
  /** Base64 DER public key, to verify STHs / checkpoints. */
  key: optStr(),
  start_index: optInt({ min: 0 }),
};

export const custom_logs = list(logFields);
/** origin: the checkpoint origin line; default derived from submission_url (else url) without scheme and slash. */
export const static_logs = list({ ...logFields, submission_url: optStr(), origin: optStr() });
