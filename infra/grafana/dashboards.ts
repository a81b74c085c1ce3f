// The Grafana dashboards, as code: `node infra/grafana/dashboards.ts` writes dashboards/*.json (committed,
// provisioned by Grafana). test/dashboards.test.ts checks the committed files equal this output and runs
// every query against a real Prometheus scraping the services.
//
// Every query names metrics the services declare (services/*/src/metrics.ts, libs/*/src/metrics.ts,
// libs/metrics); docs/observability.md lists them. `$__rate_interval` keeps rate() windows valid at any
// scrape interval.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Target {
  expr: string;
  legend?: string;
  /** Instant query rendered as a table (build info). */
  instant?: boolean;
}

interface PanelSpec {
  type: "timeseries" | "stat" | "table";
  title: string;
  description?: string;
  unit?: string;
  targets: Target[];
  /** Width in grid units (24 = full row). */
  w?: number;
  h?: number;
  stack?: boolean;
  min?: number;
  max?: number;
}

type Item = PanelSpec | { type: "row"; title: string };

const DS = { type: "prometheus", uid: "${datasource}" };
const SERVICES = 'job=~"ingester|streamer|delta-sink|backfill"';
const RI = "$__rate_interval";

const ts = (title: string, unit: string, targets: Target[], extra: Partial<PanelSpec> = {}): PanelSpec => ({
  type: "timeseries",
  title,
  unit,
  targets,
  ...extra,
});
const stat = (title: string, unit: string, expr: string, extra: Partial<PanelSpec> = {}): PanelSpec => ({
  type: "stat",
  title,
  unit,
  targets: [{ expr }],
  w: 6,
  h: 4,
  ...extra,
});
const row = (title: string): Item => ({ type: "row", title });
const rate = (metric: string, by: string, sel = "") =>
  `sum by (${by}) (rate(${metric}${sel ? `{${sel}}` : ""}[${RI}]))`;
const quantile = (q: number, metric: string, by: string, sel = "") =>
  `histogram_quantile(${q}, sum by (${by ? `${by}, ` : ""}le) (rate(${metric}_bucket${sel ? `{${sel}}` : ""}[${RI}])))`;

function panelJson(p: PanelSpec, id: number, gridPos: object): object {
  const fieldDefaults: Record<string, unknown> = { unit: p.unit ?? "short" };
  if (p.min !== undefined) fieldDefaults.min = p.min;
  if (p.max !== undefined) fieldDefaults.max = p.max;
  if (p.type === "timeseries")
    fieldDefaults.custom = {
      drawStyle: "line",
      lineWidth: 1,
      fillOpacity: p.stack ? 30 : 10,
      showPoints: "never",
      stacking: { mode: p.stack ? "normal" : "none", group: "A" },
    };
  return {
    id,
    type: p.type,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource: DS,
    gridPos,
    fieldConfig: { defaults: fieldDefaults, overrides: [] },
    options:
      p.type === "timeseries"
        ? { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } }
        : p.type === "stat"
          ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area" }
          : { showHeader: true },
    targets: p.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: t.expr,
      legendFormat: t.legend ?? "__auto",
      range: !t.instant,
      instant: Boolean(t.instant),
      ...(t.instant ? { format: "table" } : {}),
    })),
    ...(p.type === "table" ? { transformations: [{ id: "labelsToFields", options: {} }] } : {}),
  };
}

interface Variable {
  name: string;
  label: string;
  query: string;
}

function dashboard(uid: string, title: string, description: string, items: Item[], vars: Variable[] = []): object {
  const panels: object[] = [];
  let id = 1;
  let x = 0;
  let y = 0;
  let rowH = 0;
  for (const item of items) {
    if (item.type === "row") {
      if (x > 0) {
        y += rowH;
        x = 0;
        rowH = 0;
      }
      panels.push({ id: id++, type: "row", title: item.title, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
      y += 1;
      continue;
    }
    const w = item.w ?? 12;
    const h = item.h ?? 8;
    if (x + w > 24) {
      y += rowH;
      x = 0;
      rowH = 0;
    }
    panels.push(panelJson(item, id++, { h, w, x, y }));
    x += w;
    rowH = Math.max(rowH, h);
  }
  return {
    uid,
    title,
    description,
    tags: ["certstream"],
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-3h", to: "now" },
    timepicker: {},
    timezone: "utc",
    links: [{ title: "certstream", type: "dashboards", tags: ["certstream"], asDropdown: true, includeVars: false }],
    annotations: { list: [] },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Prometheus",
          type: "datasource",
          query: "prometheus",
          current: { text: "Prometheus", value: "certstream-prometheus" },
          hide: 0,
        },
        ...vars.map((v) => ({
          name: v.name,
          label: v.label,
          type: "query",
          datasource: DS,
          query: v.query,
          definition: v.query,
          refresh: 2,
          multi: true,
          includeAll: true,
          allValue: ".*",
          current: { text: "All", value: "$__all" },
          sort: 1,
        })),
      ],
    },
    panels,
  };
}

const overview = dashboard(
  "certstream-overview",
  "certstream / Overview",
  "Health and flow of the whole pipeline: CT logs -> ingester -> Kafka -> streamers and the Delta sink.",
  [
    row("Health"),
    stat("Ready streamers", "short", 'count(certstream_health_status{service="streamer"} >= 0.5) or vector(0)'),
    stat("Entries ingested / s", "ops", `sum(rate(certstream_ingester_entries_total[${RI}]))`),
    stat("Certificates / s (first sightings)", "ops", `sum(rate(certstream_dedup_entries_total{outcome="forwarded"}[${RI}]))`),
    stat("Stream clients", "short", "sum(certstream_streamer_connections)"),
    ts("Service health (1 healthy, 0.5 degraded, 0 down)", "short", [
      { expr: "certstream_health_status", legend: "{{service}} {{instance}}" },
    ], { min: 0, max: 1 }),
    ts("Kafka and schema registry connections", "short", [
      { expr: "min by (job) (certstream_kafka_connected)", legend: "{{job}} kafka" },
      { expr: "min by (job) (certstream_schema_registry_connected)", legend: "{{job}} registry" },
    ], { min: 0, max: 1 }),
    row("Flow"),
    ts("Entries ingested / s by operator", "ops", [{ expr: rate("certstream_ingester_entries_total", "operator"), legend: "{{operator}}" }], { stack: true }),
    ts("Dedup outcomes / s", "ops", [{ expr: rate("certstream_dedup_entries_total", "outcome"), legend: "{{outcome}}" }], { stack: true }),
    ts("Deliveries / s by stream", "ops", [{ expr: rate("certstream_streamer_deliveries_total", "stream"), legend: "{{stream}}" }]),
    ts("Rows written to Delta / s", "ops", [{ expr: `sum(rate(certstream_delta_records_written_total[${RI}]))`, legend: "rows" }]),
    ts("Consumer lag by group and topic", "short", [
      { expr: "sum by (group, topic) (certstream_kafka_consumer_lag_messages)", legend: "{{group}} {{topic}}" },
    ]),
    ts("Messages dropped / s (slow stream clients)", "ops", [
      { expr: rate("certstream_streamer_dropped_messages_total", "stream"), legend: "{{stream}}" },
    ]),
    row("HTTP"),
    ts("HTTP requests / s by service and status", "reqps", [
      { expr: rate("certstream_http_requests_total", "job, status"), legend: "{{job}} {{status}}" },
    ]),
    ts("HTTP latency p99 by service", "s", [
      { expr: quantile(0.99, "certstream_http_request_duration_seconds", "job"), legend: "{{job}}" },
    ]),
    row("Processes"),
    ts("Resident memory", "bytes", [{ expr: `process_resident_memory_bytes{${SERVICES}}`, legend: "{{job}} {{instance}}" }], { w: 8 }),
    ts("CPU (cores)", "short", [{ expr: `rate(process_cpu_seconds_total{${SERVICES}}[${RI}])`, legend: "{{job}} {{instance}}" }], { w: 8 }),
    ts("Event loop lag p99", "s", [{ expr: `nodejs_eventloop_lag_p99_seconds{${SERVICES}}`, legend: "{{job}} {{instance}}" }], { w: 8 }),
    ts("Restarts and panics (1 h)", "short", [
      { expr: `changes(process_start_time_seconds{${SERVICES}}[1h])`, legend: "restarts {{job}} {{instance}}" },
      { expr: "sum by (job, kind) (increase(certstream_panics_total[1h]))", legend: "panics {{job}} {{kind}}" },
    ], { w: 8 }),
    ts("Config reloads (1 h)", "short", [
      { expr: "sum by (job, result) (increase(certstream_config_reloads_total[1h]))", legend: "{{job}} {{result}}" },
    ], { w: 8 }),
    { type: "table", title: "Builds", targets: [{ expr: "certstream_build_info", instant: true }], w: 8 },
  ],
);

const ctLogs = dashboard(
  "certstream-ct-logs",
  "certstream / CT logs",
  "Per-log ingest: progress, lag, CT request health, parse failures, watcher lifecycle, transactions and dedup.",
  [
    row("Ingest per log"),
    ts("Entries / s by log", "ops", [{ expr: rate("certstream_ingester_entries_total", "log", 'log=~"$log"'), legend: "{{log}}" }]),
    ts("Source lag (now - newest entry's timestamp)", "s", [
      { expr: 'max by (log) (certstream_ingester_source_lag_seconds{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Entries behind the log's head", "short", [
      { expr: 'max by (log) (certstream_ingester_lag_entries{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Idle (since the log last yielded an entry)", "s", [
      { expr: 'max by (log) (certstream_ingester_idle_seconds{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Stalled for (reading the log keeps failing; /api/logs says why)", "s", [
      { expr: 'max by (log) (certstream_ingester_stalled_seconds{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Tree size (verified STH / checkpoint)", "short", [
      { expr: 'max by (log) (certstream_ct_tree_size{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Verified tree size (entries ingested hash to the signed root; docs/verification.md)", "short", [
      { expr: 'max by (log) (certstream_ingester_verified_tree_size{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Tree mismatch and enforce halt (1 = yes; alert CertstreamTreeMismatch)", "short", [
      { expr: 'max by (log) (certstream_ingester_tree_mismatch{log=~"$log"})', legend: "mismatch {{log}}" },
      { expr: 'max by (log) (certstream_ingester_tree_halted{log=~"$log"})', legend: "halted {{log}}" },
    ], { min: 0, max: 1 }),
    ts("Root comparisons and range seeds (per 5 min) by result", "short", [
      {
        expr: 'sum by (log, result) (increase(certstream_ingester_tree_checks_total{log=~"$log"}[5m]))',
        legend: "check {{result}} {{log}}",
      },
      {
        expr: 'sum by (log, result) (increase(certstream_ingester_tree_seeds_total{log=~"$log"}[5m]))',
        legend: "seed {{result}} {{log}}",
      },
    ]),
    ts("Parse failures / s by kind", "ops", [
      { expr: rate("certstream_ingester_parse_failures_total", "log, kind", 'log=~"$log"'), legend: "{{log}} {{kind}}" },
    ]),
    row("CT requests"),
    ts("Request latency p50 / p99 by endpoint", "s", [
      { expr: quantile(0.5, "certstream_ct_request_duration_seconds", "endpoint", 'log=~"$log"'), legend: "p50 {{endpoint}}" },
      { expr: quantile(0.99, "certstream_ct_request_duration_seconds", "endpoint", 'log=~"$log"'), legend: "p99 {{endpoint}}" },
    ]),
    ts("Requests / s by endpoint and status", "reqps", [
      {
        expr: rate("certstream_ct_request_duration_seconds_count", "endpoint, status", 'log=~"$log"'),
        legend: "{{endpoint}} {{status}}",
      },
    ]),
    ts("Fetch errors / s by kind", "ops", [
      { expr: rate("certstream_ct_fetch_errors_total", "log, kind", 'log=~"$log"'), legend: "{{log}} {{kind}}" },
    ]),
    ts("Rate limited (429) / s and retries / s", "ops", [
      { expr: rate("certstream_ct_rate_limited_total", "operator", 'log=~"$log"'), legend: "429 {{operator}}" },
      { expr: rate("certstream_ct_retries_total", "log", 'log=~"$log"'), legend: "retries {{log}}" },
    ]),
    ts("Log health (1 ok, 0.5 degraded, 0 circuit open)", "short", [
      { expr: 'certstream_ct_log_health{log=~"$log"}', legend: "{{log}}" },
    ], { min: 0, max: 1 }),
    ts("Request budget per operator", "reqps", [{ expr: "certstream_ct_operator_request_rate", legend: "{{operator}}" }]),
    ts("Gaps reported for backfill and circuit transitions (per 5 min)", "short", [
      { expr: 'sum by (log) (increase(certstream_ct_gap_entries_total{log=~"$log"}[5m]))', legend: "gap entries {{log}}" },
      {
        expr: 'sum by (log, state) (increase(certstream_ct_circuit_transitions_total{log=~"$log"}[5m]))',
        legend: "circuit {{state}} {{log}}",
      },
    ]),
    ts("Watcher fetch errors / s by kind", "ops", [
      { expr: rate("certstream_ingester_fetch_errors_total", "log, kind", 'log=~"$log"'), legend: "{{log}} {{kind}}" },
    ]),
    ts("Log list: logs selected, refreshes, issuer cache", "short", [
      { expr: "max(certstream_ct_log_list_logs)", legend: "logs selected" },
      { expr: "sum by (result) (increase(certstream_ct_log_list_refresh_total[1h]))", legend: "list refresh {{result}} (1 h)" },
      { expr: "sum by (result) (increase(certstream_ct_issuer_cache_total[1h]))", legend: "issuer cache {{result}} (1 h)" },
    ]),
    row("Watchers and transactions"),
    ts("Watcher lifecycle (per 5 min)", "short", [
      { expr: "sum by (reason) (increase(certstream_ingester_watcher_started_total[5m]))", legend: "started {{reason}}" },
      { expr: "sum by (reason) (increase(certstream_ingester_watcher_stopped_total[5m]))", legend: "stopped {{reason}}" },
      { expr: "sum by (reason) (increase(certstream_ingester_watcher_restarted_total[5m]))", legend: "restarted {{reason}}" },
    ]),
    ts("Logs watched per replica", "short", [{ expr: "certstream_ingester_owned_logs", legend: "{{instance}}" }]),
    ts("Position (next index to write) per log", "short", [
      { expr: 'max by (log) (certstream_ingester_position{log=~"$log"})', legend: "{{log}}" },
    ]),
    ts("Queue depth (fetched, not yet committed)", "short", [
      { expr: "sum by (stage) (certstream_ingester_queue_depth)", legend: "{{stage}}" },
    ]),
    ts("Transactions / s by result, failures by kind", "ops", [
      { expr: rate("certstream_ingester_state_commits_total", "result"), legend: "{{result}}" },
      { expr: rate("certstream_ingester_state_commit_failures_total", "kind"), legend: "failed {{kind}}" },
      { expr: rate("certstream_ingester_produce_errors_total", "stage, kind"), legend: "produce error {{stage}} {{kind}}" },
      // A batch Kafka committed in part (a coordinator restarted before it was fenced), completed on resume.
      { expr: rate("certstream_ingester_torn_batches_total", "state"), legend: "torn batch completed (state {{state}})" },
      { expr: `sum(rate(certstream_ingester_dedup_torn_batches_total[${RI}]))`, legend: "torn dedup batch completed" },
    ]),
    ts("Transaction duration p99 by stage", "s", [
      { expr: quantile(0.99, "certstream_ingester_produce_seconds", "stage"), legend: "{{stage}}" },
    ]),
    ts("Entries per transaction (p50)", "short", [
      { expr: quantile(0.5, "certstream_ingester_batch_entries", "stage"), legend: "{{stage}}" },
    ]),
    ts("Kafka request queue (producer backpressure) and undecodable state records", "short", [
      { expr: 'max by (instance, client) (certstream_kafka_request_queue_size{job="ingester"})', legend: "{{client}} {{instance}}" },
      { expr: "sum(increase(certstream_ingester_state_decode_failures_total[1h]))", legend: "state records undecodable (1 h)" },
    ]),
    row("Dedup"),
    ts("Dedup ratio (duplicates / parsed)", "percentunit", [{ expr: "certstream_dedup_ratio", legend: "{{instance}}" }], { min: 0, max: 1 }),
    ts("Seen-set size and evictions", "short", [
      { expr: "sum by (instance) (certstream_dedup_cache_size)", legend: "size {{instance}}" },
      { expr: `sum(rate(certstream_dedup_cache_evictions_total[${RI}]))`, legend: "evictions / s" },
    ]),
    ts("Seen-set rebuild time (p99) on assignment", "s", [
      { expr: quantile(0.99, "certstream_dedup_rebuild_seconds", ""), legend: "p99" },
    ]),
  ],
  [{ name: "log", label: "Log", query: "label_values(certstream_ingester_entries_total, log)" }],
);

const streamer = dashboard(
  "certstream-streamer",
  "certstream / Streamer",
  "WebSocket and SSE fan-out: clients, deliveries, drops and disconnects, send buffers, resumes, lag, per-replica load.",
  [
    row("Clients"),
    stat("Stream clients", "short", 'sum(certstream_streamer_connections{stream=~"$stream"})'),
    stat("Deliveries / s", "ops", `sum(rate(certstream_streamer_deliveries_total{stream=~"$stream"}[${RI}]))`),
    stat("Drops / s", "ops", `sum(rate(certstream_streamer_dropped_messages_total{stream=~"$stream"}[${RI}])) or vector(0)`),
    stat("Ready replicas", "short", 'count(certstream_health_status{service="streamer"} >= 0.5) or vector(0)'),
    ts("Connections by stream and transport", "short", [
      { expr: 'sum by (stream, transport) (certstream_streamer_connections{stream=~"$stream"})', legend: "{{stream}} {{transport}}" },
    ], { stack: true }),
    ts("Connections per replica", "short", [
      { expr: "sum by (instance) (certstream_streamer_connections)", legend: "{{instance}}" },
    ]),
    ts("Deliveries / s by stream", "ops", [
      { expr: rate("certstream_streamer_deliveries_total", "stream", 'stream=~"$stream"'), legend: "{{stream}}" },
    ]),
    ts("Dropped messages / s by stream", "ops", [
      { expr: rate("certstream_streamer_dropped_messages_total", "stream", 'stream=~"$stream"'), legend: "{{stream}}" },
    ]),
    ts("Disconnects / s by reason", "ops", [
      { expr: rate("certstream_streamer_disconnects_total", "stream, reason", 'stream=~"$stream"'), legend: "{{stream}} {{reason}}" },
    ]),
    ts("Refused before streaming / s by kind", "ops", [
      { expr: rate("certstream_streamer_connections_refused_total", "kind"), legend: "{{kind}}" },
    ]),
    row("Backpressure and Kafka"),
    ts("Send buffers (bytes queued, summed per stream)", "bytes", [
      { expr: 'sum by (stream) (certstream_streamer_send_buffer_bytes{stream=~"$stream"})', legend: "{{stream}}" },
    ]),
    ts("Consumer lag on the certs topic per replica", "short", [
      { expr: 'sum by (instance) (certstream_kafka_consumer_lag_messages{job="streamer"})', legend: "{{instance}}" },
    ]),
    ts("Certificates read / s per replica", "ops", [
      { expr: rate("certstream_streamer_records_total", "instance"), legend: "{{instance}}" },
    ]),
    ts("Resumes (per 5 min) and replayed messages / s", "short", [
      { expr: "sum by (outcome) (increase(certstream_streamer_resumes_total[5m]))", legend: "resume {{outcome}}" },
      { expr: `sum(rate(certstream_streamer_replayed_messages_total[${RI}]))`, legend: "replayed / s" },
    ]),
    ts("Errors / s by kind, client messages / s (ignored)", "ops", [
      { expr: rate("certstream_streamer_errors_total", "kind"), legend: "{{kind}}" },
      { expr: `sum(rate(certstream_streamer_client_messages_total[${RI}]))`, legend: "client messages" },
    ]),
    ts("HTTP latency p99 by route", "s", [
      { expr: quantile(0.99, "certstream_http_request_duration_seconds", "route", 'job="streamer"'), legend: "{{route}}" },
    ]),
    ts("Record age p99 by stage (log → ingest commit → dedup → streamer → fanned out)", "s", [
      { expr: quantile(0.99, "certstream_ingester_record_age_seconds", "stage"), legend: "{{stage}}" },
      { expr: quantile(0.99, "certstream_streamer_record_age_seconds", "stage"), legend: "streamer {{stage}}" },
    ], { w: 24 }),
    row("Replicas"),
    ts("Health per replica", "short", [
      { expr: 'certstream_health_status{service="streamer"}', legend: "{{instance}}" },
    ], { min: 0, max: 1, w: 8 }),
    ts("Resident memory per replica", "bytes", [
      { expr: 'process_resident_memory_bytes{job="streamer"}', legend: "{{instance}}" },
    ], { w: 8 }),
    ts("Memory given back after a burst (releases per 5 min)", "short", [
      { expr: "sum by (instance) (increase(certstream_streamer_memory_releases_total[5m]))", legend: "{{instance}}" },
    ], { w: 8 }),
    ts("Memory per connected client", "bytes", [
      {
        expr: 'sum by (instance) (process_resident_memory_bytes{job="streamer"}) / clamp_min(sum by (instance) (certstream_streamer_connections), 1)',
        legend: "{{instance}}",
      },
    ], { w: 8 }),
  ],
  [{ name: "stream", label: "Stream", query: "label_values(certstream_streamer_connections, stream)" }],
);

const deltaBackfill = dashboard(
  "certstream-delta-backfill",
  "certstream / Delta sink and backfill",
  "The archive: Delta writes, flushes, errors, buffer and lag of the sink; progress of backfill runs; archive searches.",
  [
    row("Delta sink"),
    ts("Rows written / s", "ops", [{ expr: `sum(rate(certstream_delta_records_written_total[${RI}]))`, legend: "rows" }]),
    ts("Flushes / s and write errors / s by kind", "ops", [
      { expr: `sum(rate(certstream_delta_flushes_total[${RI}]))`, legend: "flushes" },
      { expr: rate("certstream_delta_write_errors_total", "kind"), legend: "errors {{kind}}" },
    ]),
    ts("Flush duration p50 / p99", "s", [
      { expr: quantile(0.5, "certstream_delta_flush_duration_seconds", ""), legend: "p50" },
      { expr: quantile(0.99, "certstream_delta_flush_duration_seconds", ""), legend: "p99" },
    ]),
    ts("Buffered records (not yet flushed)", "short", [{ expr: "sum(certstream_delta_buffer_size)", legend: "records" }]),
    ts("Consumer lag by topic and partition", "short", [
      { expr: 'sum by (topic, partition) (certstream_kafka_consumer_lag_messages{job="delta-sink"})', legend: "{{topic}} [{{partition}}]" },
    ]),
    ts("Bytes and files written / s", "Bps", [
      { expr: `sum(rate(certstream_delta_bytes_written_total[${RI}]))`, legend: "bytes / s" },
    ]),
    ts("Commits: conflicts and checkpoints (per 5 min)", "short", [
      { expr: "sum(increase(certstream_delta_commit_conflicts_total[5m]))", legend: "conflicts" },
      { expr: "sum by (result) (increase(certstream_delta_checkpoints_total[5m]))", legend: "checkpoints {{result}}" },
      { expr: "sum(increase(certstream_delta_files_written_total[5m]))", legend: "files" },
    ]),
    ts("Sink health, table ready, consumption paused", "short", [
      { expr: 'certstream_health_status{service="delta-sink"}', legend: "health {{instance}}" },
      { expr: "certstream_delta_table_ready", legend: "table ready {{instance}}" },
      { expr: "certstream_delta_consumption_paused", legend: "paused {{instance}}" },
    ], { min: 0, max: 1 }),
    ts("Rows per flush (p50, p99)", "short", [
      { expr: quantile(0.5, "certstream_delta_flush_rows", ""), legend: "p50" },
      { expr: quantile(0.99, "certstream_delta_flush_rows", ""), legend: "p99" },
    ]),
    ts("Records rejected (undecodable) and skipped (already in the table) / s", "ops", [
      { expr: rate("certstream_delta_records_rejected_total", "kind"), legend: "rejected {{kind}}" },
      { expr: `sum(rate(certstream_delta_records_skipped_total[${RI}]))`, legend: "skipped" },
    ]),
    ts("txn conflicts and optimize (per 1 h)", "short", [
      { expr: "sum(increase(certstream_delta_txn_conflicts_total[1h]))", legend: "txn conflicts" },
      { expr: "sum by (action) (increase(certstream_delta_optimize_files_total[1h]))", legend: "optimize {{action}}" },
    ]),
    row("Backfill"),
    ts("Logs by state", "short", [{ expr: "sum by (state) (certstream_backfill_logs)", legend: "{{state}}" }]),
    ts("Remaining entries by log", "short", [
      { expr: "sum by (log) (certstream_backfill_remaining_entries)", legend: "{{log}}" },
    ]),
    ts("Entries fetched and produced / s", "ops", [
      { expr: `sum(rate(certstream_backfill_entries_fetched_total[${RI}]))`, legend: "fetched" },
      { expr: `sum(rate(certstream_backfill_entries_produced_total[${RI}]))`, legend: "produced" },
    ]),
    ts("Window duration p50 / p90", "s", [
      { expr: quantile(0.5, "certstream_backfill_window_duration_seconds", ""), legend: "p50" },
      { expr: quantile(0.9, "certstream_backfill_window_duration_seconds", ""), legend: "p90" },
    ]),
    ts("Windows and transactions by outcome (per 5 min)", "short", [
      { expr: "sum by (outcome) (increase(certstream_backfill_windows_total[5m]))", legend: "window {{outcome}}" },
      { expr: "sum by (outcome) (increase(certstream_backfill_transactions_total[5m]))", legend: "transaction {{outcome}}" },
    ]),
    ts("Queue depth and produce errors", "short", [
      { expr: "sum(certstream_backfill_queue_depth)", legend: "queued entries" },
      { expr: rate("certstream_backfill_produce_errors_total", "kind"), legend: "produce errors / s {{kind}}" },
    ]),
    ts("Gap scan duration", "s", [{ expr: "certstream_backfill_gap_scan_duration_seconds", legend: "{{instance}}" }]),
    ts("Gaps at start by log, entries pending in topics", "short", [
      { expr: "sum by (log) (certstream_backfill_gap_entries)", legend: "gap {{log}}" },
      { expr: "sum by (topic) (certstream_backfill_pending_entries)", legend: "pending in {{topic}}" },
    ]),
    ts("Gap scan: files by decision", "short", [
      { expr: "sum by (decision) (certstream_backfill_gap_scan_files_total)", legend: "{{decision}}" },
    ]),
    ts("Backfill transaction duration p90", "s", [
      { expr: quantile(0.9, "certstream_backfill_transaction_duration_seconds", ""), legend: "duration p90" },
    ]),
    ts("Records per backfill transaction (p50) and parse failures / s", "short", [
      { expr: quantile(0.5, "certstream_backfill_transaction_records", ""), legend: "records p50" },
      { expr: rate("certstream_backfill_parse_failures_total", "kind"), legend: "parse failures {{kind}}" },
    ]),
    row("Archive search"),
    ts("Searches / s by kind and outcome", "ops", [
      { expr: rate("certstream_archive_searches_total", "kind, outcome"), legend: "{{kind}} {{outcome}}" },
    ]),
    ts("Search latency p50 / p99 by kind", "s", [
      { expr: quantile(0.5, "certstream_archive_search_duration_seconds", "kind"), legend: "p50 {{kind}}" },
      { expr: quantile(0.99, "certstream_archive_search_duration_seconds", "kind"), legend: "p99 {{kind}}" },
    ]),
    ts("Bytes read per search p50 / p99", "bytes", [
      { expr: quantile(0.5, "certstream_archive_search_read_bytes", ""), legend: "p50" },
      { expr: quantile(0.99, "certstream_archive_search_read_bytes", ""), legend: "p99" },
    ]),
    ts("Rows examined per search p50 / p99", "short", [
      { expr: quantile(0.5, "certstream_archive_search_rows_examined", ""), legend: "p50" },
      { expr: quantile(0.99, "certstream_archive_search_rows_examined", ""), legend: "p99" },
    ]),
  ],
);

export const dashboards: Record<string, object> = {
  "overview.json": overview,
  "ct-logs.json": ctLogs,
  "streamer.json": streamer,
  "delta-sink-backfill.json": deltaBackfill,
};

export function renderDashboard(d: object): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

if (import.meta.main) {
  const dir = join(import.meta.dirname, "dashboards");
  for (const [file, d] of Object.entries(dashboards)) writeFileSync(join(dir, file), renderDashboard(d));
  console.log(`wrote ${Object.keys(dashboards).length} dashboards to ${dir}`);
}
