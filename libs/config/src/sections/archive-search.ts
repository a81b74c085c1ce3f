import { int, num, section, str } from "../spec.ts";

/** The archive search service (services/archive-search): GET /api/search over the Delta archive. */
export const archive_search = section({
  /** HTTP port for /api/search, /api/certificate, /health, /metrics. */
  port: int(8084, { min: 0, max: 65535 }),
  /** The table to search; empty = delta_sink.table_path (the table the sink writes). */
  table_path: str(""),
  /**
   * A query is refused (422, with how to narrow it) when the rows left to examine after pruning exceed this share
   * of the table's rows: a search box must not turn into a full scan of the archive.
   */
  max_scan_share: num(0.1, { min: 0.000001, max: 1 }),
  /** Parquet footers kept in memory (one per data file; a few hundred KB each for clustered files). */
  footer_cache_files: int(4096, { min: 1 }),
  /** How often the table's log is read again for new commits (a search uses the latest snapshot read). */
  refresh_interval_ms: int(5000, { min: 0 }),
  /** Access-Control-Allow-Origin of the API (the live page on the streamer's port queries it); empty = none. */
  allow_origin: str("*"),
});
