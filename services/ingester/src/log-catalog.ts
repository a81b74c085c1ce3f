import { createHash } from "node:crypto";
import type { Config } from "@certstream/config";
import {
  type AnyLogClient,
  createLogClient,
  fromRawEntry,
  IssuerCache,
  type LogDescription,
  type LogList,
  LogListWatcher,
  logSelection,
  OperatorBudgets,
  parseLogList,
  pseudoLogId,
  type RawLogEntry,
  type SharedClientState,
  type StaticLogEntry,
  toCertificateEntry,
  toLogSource,
  userAgentFor,
} from "@certstream/ct";
import type { Logger } from "@certstream/log";
import { CtLogReader } from "./ct-log-reader.ts";
import type { WatchableLog } from "./ingester.ts";

/**
 * The log id used everywhere (state key, transactional.id, metrics label): the configured log_id, else the
 * SHA-256 of the log's key (the RFC 6962 LogID), else the pseudo id of the URL (libs/ct `pseudoLogId`).
 */
export function logIdOf(l: { log_id: string | null; key: string | null; url: string }): string {
  if (l.log_id) return l.log_id;
  if (l.key) return createHash("sha256").update(Buffer.from(l.key, "base64")).digest("base64");
  return pseudoLogId(l.url);
}

export interface LogCatalog {
  /** The logs to watch now. */
  logs: WatchableLog[];
  stop(): void;
}

/**
 * The logs this ingester may watch: the Chrome v3 log list (`logs` and `tiled_logs`, when
 * `ct_log.log_list_enabled`) plus `custom_logs` / `static_logs`, minus the exclusions; refreshed every
 * `ct_log.log_refresh_interval_secs`, with `onChange` called with the new set. A log whose description did not
 * change keeps its reader (and its client's verified tree head); one that changed gets a new reader.
 */
export async function startLogCatalog(
  config: Config,
  logger: Logger,
  onChange: (logs: WatchableLog[]) => void,
): Promise<LogCatalog> {
  const ct = config.ct_log;
  const shared: SharedClientState = {
    budgets: new OperatorBudgets({
      rateLimits: ct.operator_rate_limits,
      defaultRatePerSec: ct.default_rate_limit,
    }),
    issuers: new IssuerCache(),
  };
  const selection = logSelection(config);
  const readers = new Map<string, { signature: string; log: WatchableLog }>();
  const toWatchable = (list: LogDescription[]): WatchableLog[] =>
    list.map((d) => {
      const signature = JSON.stringify([d.url, d.kind, d.key?.logIdBase64 ?? null, d.origin ?? null]);
      const known = readers.get(d.id);
      if (known && known.signature === signature) return known.log;
      const client: AnyLogClient = createLogClient(d, ct, shared);
      const source = toLogSource(d);
      const reader =
        d.kind === "static"
          ? new CtLogReader<StaticLogEntry>(source, client as never, (l, e, seen) =>
              toCertificateEntry(l, e, seen),
            )
          : new CtLogReader<RawLogEntry>(source, client as never, (l, e, seen) => fromRawEntry(l, e, seen));
      const log: WatchableLog = { reader, startIndex: d.startIndex ?? null };
      readers.set(d.id, { signature, log });
      return log;
    });

  if (!ct.log_list_enabled) {
    const list: LogList = parseLogList({ operators: [] }, selection);
    return { logs: toWatchable(list.logs), stop: () => undefined };
  }
  const watcher = new LogListWatcher({
    source: {
      location: ct.log_list_path ?? ct.log_list_url,
      ...(ct.log_list_signature_key_path ? { publicKeyPath: ct.log_list_signature_key_path } : {}),
      userAgent: userAgentFor(ct),
      requestTimeoutMs: ct.request_timeout_secs * 1000,
    },
    selection,
    refreshIntervalMs: ct.log_refresh_interval_secs * 1000,
    logger,
    onChange: (_diff, list) => onChange(toWatchable(list.logs)),
  });
  const list = await watcher.start();
  logger.info(
    { logs: list.logs.length, skipped: list.skipped.length, version: list.version },
    "log list loaded",
  );
  return { logs: toWatchable(list.logs), stop: () => watcher.stop() };
}
