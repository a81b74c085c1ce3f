// The archive search's metrics. Labels are bounded: the query kind and outcome, never a domain or an issuer.
import { counter, histogram } from "@certstream/metrics";

export const searches = counter({
  name: "certstream_archive_searches_total",
  help: "Searches answered, by query kind (domain, suffix, registered, issuer, other) and outcome (ok, bad_request, too_broad, stale, error)",
  labelNames: ["kind", "outcome"],
});

export const searchDuration = histogram({
  name: "certstream_archive_search_duration_seconds",
  help: "Time to answer a search that ran (plan and read), by query kind",
  labelNames: ["kind"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
});

export const searchBytesRead = histogram({
  name: "certstream_archive_search_read_bytes",
  help: "Bytes of data files read by one search (footers not in the cache, filter and result pages)",
  buckets: [16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456],
});

export const searchRowsExamined = histogram({
  name: "certstream_archive_search_rows_examined",
  help: "Rows whose filter columns one search read",
  buckets: [0, 1_000, 10_000, 100_000, 1_000_000, 10_000_000],
});
