import { archive_search } from "./archive-search.ts";
import { ct_log, custom_logs, static_logs } from "./ct-log.ts";
import { metrics } from "./metrics.ts";
import { backfill, dedup, delta_sink, ingester, kafka } from "./pipeline.ts";
import { protocols, streams } from "./protocols.ts";
import { serverFields } from "./server.ts";
import { auth, connection_limit, hot_reload, rate_limit, streamer } from "./streamer.ts";

/** Every key of the config file. A section per concern; add new sections here. */
export const configFields = {
  ...serverFields,
  protocols,
  streams,
  ct_log,
  custom_logs,
  static_logs,
  dedup,
  auth,
  connection_limit,
  rate_limit,
  hot_reload,
  streamer,
  kafka,
  ingester,
  delta_sink,
  backfill,
  archive_search,
  metrics,
};
