// The whole system observed the way operators observe it. Against the real broker and registry and stand-in
// CT logs (one RFC 6962, one static-ct-api, both growing): the ingester, streamer and delta sink run as
// processes with their own topics, a WebSocket client takes the full stream, the backfill job fills the
// logs' first entries, the archive search service answers searches for streamed domains over the sink's
// table, and a real Prometheus (Debian's, 1 s scrapes) scrapes all five. Then:
//  - each service's /metrics has the shared metrics and its own, with the declared type and label set;
//  - every Grafana dashboard query returns data, except those over counters that only move on failures.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { dashboards } from "../infra/grafana/dashboards.ts";
import { StandInServer } from "./ct-standin/server.ts";
import { type Dashboard, extractQueries, metricNames } from "./dashboard-queries.ts";
import { declaredMetrics } from "./declared-metrics.ts";
import { expectMetrics, type MetricSpec } from "./metrics-expect.ts";
import { scrape, waitFor } from "./poll.ts";
import { type PrometheusProcess, startPrometheus } from "./prometheus-process.ts";
import { freePort, ServiceProcess } from "./service-process.ts";
import { kafkaBrokers, registryUrl, repoRoot, testTopics, uniqueName } from "./stack.ts";
import { makeTestPki, type TestPki, tlsGet } from "./tls-certs.ts";

/** Counters and gauges that stay empty on a healthy short run: they only move on failures or rare events. */
const ONLY_ON_FAILURE = new Set([
  "certstream_panics_total",
  "certstream_config_reloads_total",
  "certstream_ct_fetch_errors_total",
  "certstream_ct_rate_limited_total",
  "certstream_ct_retries_total",
  "certstream_ingester_parse_failures_total",
  "certstream_ingester_watcher_stopped_total",
  "certstream_ingester_watcher_restarted_total",
  "certstream_ingester_state_commit_failures_total",
  "certstream_ingester_torn_batches_total",
  "certstream_ingester_dedup_torn_batches_total",
  "certstream_ingester_produce_errors_total",
  "certstream_dedup_cache_evictions_total",
  "certstream_delta_write_errors_total",
  "certstream_delta_commit_conflicts_total",
  "certstream_delta_checkpoints_total",
  "certstream_streamer_dropped_messages_total",
  "certstream_streamer_disconnects_total",
  "certstream_streamer_connections_refused_total",
  "certstream_streamer_resumes_total",
  "certstream_streamer_replayed_messages_total",
  "certstream_streamer_errors_total",
  "certstream_backfill_produce_errors_total",
  "certstream_backfill_parse_failures_total",
  "certstream_ct_gap_entries_total",
  "certstream_ct_circuit_transitions_total",
  "certstream_ct_log_list_refresh_total",
  "certstream_ingester_fetch_errors_total",
  "certstream_ingester_state_decode_failures_total",
  // A series only while a log is stalled.
  "certstream_ingester_stalled_seconds",
  "certstream_delta_txn_conflicts_total",
  "certstream_delta_records_rejected_total",
  "certstream_delta_records_skipped_total",
  "certstream_delta_optimize_files_total",
  "certstream_streamer_client_messages_total",
  // Only moves while requests queue behind KafkaJS's in-flight limit (backpressure).
  "certstream_kafka_request_queue_size",
]);

/** Metrics every long-running service and the backfill job must expose (libs/metrics and prom-client). */
const SHARED: MetricSpec[] = [
  { name: "certstream_build_info", type: "gauge", labels: ["version", "service", "node"] },
  { name: "certstream_health_status", type: "gauge", labels: ["service"] },
  { name: "certstream_kafka_connected", type: "gauge", labels: [] },
  { name: "certstream_schema_registry_connected", type: "gauge", labels: [] },
  { name: "certstream_panics_total", type: "counter", labels: ["kind"], hasSamples: false },
  { name: "process_resident_memory_bytes", type: "gauge" },
  { name: "process_cpu_seconds_total", type: "counter" },
  { name: "nodejs_eventloop_lag_p99_seconds", type: "gauge" },
];
const HTTP: MetricSpec[] = [
  { name: "certstream_http_requests_total", type: "counter", labels: ["route", "method", "status"] },
  {
    name: "certstream_http_request_duration_seconds",
    type: "histogram",
    labels: ["route", "method", "status"],
  },
];

const SERVICES = ["ingester", "streamer", "delta-sink", "backfill", "archive-search"] as const;
/** The services that run for the whole test (the backfill job runs once and exits). */
const LONG_RUNNING = ["ingester", "delta-sink", "streamer", "archive-search"] as const;
type Service = (typeof SERVICES)[number];

/** The metrics each service's own modules (and the libs it runs) declare. */
function ownSpecs(service: Service): MetricSpec[] {
  const from = (prefix: string) =>
    declaredMetrics()
      .filter((m) => m.file.startsWith(prefix))
      .map((m) => ({ name: m.name, type: m.type, labels: m.labels, hasSamples: false }));
  const libs = service === "ingester" || service === "backfill" ? from("libs/ct/") : [];
  return [...from(`services/${service}/`), ...libs];
}

describe("observability end to end", () => {
  const dir = mkdtempSync(join(tmpdir(), "obs-e2e-"));
  const base = uniqueName("obs");
  const standin = new StandInServer({
    rfc6962: [
      { name: "obs-rfc", initialSize: 1200, growRate: 8, mode: "distinct", certSeed: 7, operator: "Obs A" },
    ],
    static: [
      {
        name: "obs-static",
        initialSize: 1200,
        growRate: 8,
        mode: "distinct",
        certSeed: 107,
        operator: "Obs B",
      },
    ],
  });
  const procs = new Map<Service, ServiceProcess>();
  /** Exit codes of the services that have exited (a service still running has none). */
  const exitCodes = new Map<Service, number | null>();
  const launch = (s: Service, args: string[], env: Record<string, string> = {}): ServiceProcess => {
    const p = new ServiceProcess(s, args, join(dir, `${s}.log`)).start(env);
    procs.set(s, p);
    void p.exited.then((code) => exitCodes.set(s, code));
    return p;
  };
  const ports = new Map<Service, number>();
  const metricsUrl = (s: Service) => `http://127.0.0.1:${ports.get(s)}/metrics`;
  /** The streamer's /metrics are only on its mTLS listener (none on its service port). */
  const scrapeService = async (s: Service): Promise<string> => {
    if (s !== "streamer") return scrape(metricsUrl(s));
    const r = await tlsGet(`https://127.0.0.1:${mtlsPort}/metrics`, pki.ca, {
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    if (r.status !== 200) throw new Error(`streamer mTLS /metrics: ${r.status ?? r.error}`);
    return r.body ?? "";
  };
  const expositions = new Map<Service, string>();
  let prom: PrometheusProcess;
  let pki: TestPki;
  let mtlsPort = 0;
  let configPath: string;
  const clients: WebSocket[] = [];
  const received: string[] = [];
  /** Searches for streamed domains run until the end, so rate() over the search panels' windows has samples. */
  let searching = true;
  let searchLoop: Promise<void> = Promise.resolve();
  const searchStatuses = new Map<number, number>();

  beforeAll(async () => {
    await standin.start();
    for (const s of SERVICES) ports.set(s, await freePort());
    pki = makeTestPki();
    mtlsPort = await freePort();
    const logs = (kind: "rfc" | "static") =>
      [...standin.logs.values()]
        .filter((l) => (kind === "rfc" ? l.kind !== "static" : l.kind === "static"))
        .map((l) => ({
          name: l.name,
          url: standin.url(l.name),
          operator: l.operator,
          key: l.key.publicKeyBase64,
          start_index: 1000,
          // static-ct-api: the checkpoint origin is the submission URL's host and path.
          ...(l.kind === "static" ? { submission_url: `https://${l.origin}/` } : {}),
        }));
    const config = {
      host: "127.0.0.1",
      port: ports.get("streamer"),
      log_level: "info",
      kafka: {
        brokers: kafkaBrokers(),
        schema_registry_url: registryUrl(),
        client_id: base,
        partitions: 2,
        topics: testTopics(base),
      },
      ct_log: {
        batch_size: 64,
        poll_interval_ms: 300,
        retry_initial_delay_ms: 100,
        retry_max_delay_ms: 1000,
        log_list_enabled: false,
      },
      custom_logs: logs("rfc"),
      static_logs: logs("static"),
      dedup: { enabled: true, capacity: 100_000, ttl_secs: 3600 },
      ingester: {
        port: ports.get("ingester"),
        replica_id: "obs-1",
        group_id: `${base}-ingester`,
        dedup_group_id: `${base}-dedup`,
        coordination_topic: `${base}.logs`,
        coordination_partitions: 4,
        session_timeout_ms: 6000,
        heartbeat_interval_ms: 1000,
        transactional_id_prefix: `${base}-tx`,
        dedup_transactional_id_prefix: `${base}-dtx`,
        max_batch_entries: 50,
      },
      delta_sink: {
        enabled: true,
        port: ports.get("delta-sink"),
        table_path: join(dir, "table"),
        group_id: `${base}-sink`,
        app_id: `${base}-sink`,
        batch_size: 200,
        flush_interval_secs: 1,
      },
      // The table is small and young: any search may examine all of it.
      archive_search: { port: ports.get("archive-search"), max_scan_share: 1, refresh_interval_ms: 1000 },
      backfill: {
        port: ports.get("backfill"),
        transactional_id_prefix: `${base}-bf`,
        concurrency: 2,
        window_size: 256,
        wait_timeout_secs: 90,
        progress_interval_secs: 2,
      },
      metrics: { enabled: false },
    };
    configPath = join(dir, "config.yaml");
    writeFileSync(configPath, JSON.stringify(config, null, 2));

    const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    prom = await startPrometheus(
      SERVICES.map((s) =>
        s === "streamer"
          ? { job: s, targets: [`127.0.0.1:${mtlsPort}`], tls }
          : { job: s, targets: [`127.0.0.1:${ports.get(s)}`] },
      ),
      { ruleFiles: [join(repoRoot, "infra/prometheus/alerts.yml")] },
    );
    // The streamer serves /metrics on a dedicated mTLS listener (seed 003), configured by env overrides, and
    // then not on its service port: Prometheus scrapes it with a client certificate.
    const mtlsEnv: Record<string, string> = {
      CERTSTREAM_METRICS_ENABLED: "true",
      CERTSTREAM_METRICS_HOST: "127.0.0.1",
      CERTSTREAM_METRICS_PORT: String(mtlsPort),
      CERTSTREAM_METRICS_TLS_ENABLED: "true",
      CERTSTREAM_METRICS_TLS_CERT_PATH: pki.serverCert,
      CERTSTREAM_METRICS_TLS_KEY_PATH: pki.serverKey,
      CERTSTREAM_METRICS_TLS_CA_PATH: pki.ca,
      CERTSTREAM_METRICS_TLS_REQUIRE_MTLS: "true",
    };
    for (const s of LONG_RUNNING) launch(s, ["--config", configPath], s === "streamer" ? mtlsEnv : {});
    const waitReady = async (s: Service): Promise<void> => {
      const p = procs.get(s) as ServiceProcess;
      await waitFor(
        `${s} /health/ready`,
        async () => {
          if (exitCodes.has(s)) throw new Error(`${s} exited (${exitCodes.get(s)}):\n${p.tail()}`);
          return (await fetch(`http://127.0.0.1:${ports.get(s)}/health/ready`)).ok;
        },
        90_000,
      );
    };
    for (const s of ["ingester", "delta-sink", "streamer"] as const) await waitReady(s);
    // Clients on every stream of the streamer, as certstream clients connect.
    for (const path of ["/full-stream", "/", "/domains-only"]) {
      const ws = new WebSocket(`ws://127.0.0.1:${ports.get("streamer")}${path}`);
      ws.on("message", (d) => received.push(String(d)));
      ws.on("error", () => {});
      clients.push(ws);
    }
    await waitFor(
      "certificates on the WebSocket streams",
      async () => received.filter((m) => m.includes('"certificate_update"')).length >= 6,
      90_000,
    );
    await waitFor(
      "rows in the Delta table",
      async () =>
        /^certstream_delta_records_written_total [1-9]/m.test(await scrape(metricsUrl("delta-sink"))),
      90_000,
    );
    // Ready once the sink's table exists; then searched for the domains clients were sent.
    await waitReady("archive-search");
    searchLoop = (async () => {
      for (let i = 0; searching; i++) {
        // A name of a recent certificate (parsing every message received so far on each turn would grow without end).
        const recent = received.slice(-50).filter((m) => m.includes('"certificate_update"'));
        const names = recent.flatMap(
          (m) =>
            (JSON.parse(m) as { data: { leaf_cert: { all_domains: string[] } } }).data.leaf_cert.all_domains,
        );
        const domains = names.filter((d) => /^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/.test(d));
        if (domains.length === 0) {
          await new Promise((r) => setTimeout(r, 300));
          continue;
        }
        const domain = domains[i % domains.length];
        const url = `http://127.0.0.1:${ports.get("archive-search")}/api/search?domain=${encodeURIComponent(domain)}`;
        try {
          const { status } = await fetch(url);
          searchStatuses.set(status, (searchStatuses.get(status) ?? 0) + 1);
        } catch {
          // counted by the service, or the service is being stopped
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    // The backfill job fills [0, 1000) of both logs and waits for the sink to archive it; scraped while it runs.
    const backfill = launch("backfill", ["--from", "0", "--wait", "--config", configPath]);
    const polling = (async () => {
      while (!exitCodes.has("backfill")) {
        try {
          expositions.set("backfill", await scrape(metricsUrl("backfill")));
        } catch {
          // not listening yet, or already gone
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const code = await Promise.race([
      backfill.exited,
      new Promise((r) => setTimeout(() => r("timeout"), 150_000)),
    ]);
    await polling;
    if (code !== 0) throw new Error(`backfill exited with ${String(code)}:\n${backfill.tail(25)}`);

    // A few more seconds of live traffic so rate() over the dashboards' windows has samples everywhere.
    await new Promise((r) => setTimeout(r, 5000));
    for (const s of LONG_RUNNING) expositions.set(s, await scrapeService(s));
  }, 420_000);

  afterAll(async () => {
    searching = false;
    await searchLoop;
    for (const ws of clients) ws.terminate();
    await Promise.allSettled([...procs.values()].map((p) => p.stop()));
    await prom?.stop();
    await standin.stop();
    rmSync(dir, { recursive: true, force: true });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  }, 60_000);

  it("the streamer's dedicated mTLS metrics listener serves a trusted client and refuses others", async () => {
    expect((await fetch(metricsUrl("streamer"))).status, "not in clear on the service port").toBe(404);
    const url = `https://127.0.0.1:${mtlsPort}/metrics`;
    const ok = await tlsGet(url, pki.ca, { cert: pki.clientCert, key: pki.clientKey });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('certstream_build_info{version="dev",service="streamer"');
    expect((await tlsGet(url, pki.ca)).status).toBeUndefined();
    expect((await tlsGet(url, pki.ca, { cert: pki.rogueCert, key: pki.rogueKey })).status).toBeUndefined();
  });

  for (const service of SERVICES) {
    it(`${service}: /metrics has the shared metrics and its own with declared types and labels`, () => {
      const text = expositions.get(service);
      expect(text, `${service} was never scraped:\n${procs.get(service)?.tail()}`).toBeDefined();
      // archive-search has no Kafka or registry client, so no connection gauges (they would read 0 for ever).
      const shared =
        service === "archive-search" ? SHARED.filter((m) => !m.name.endsWith("_connected")) : SHARED;
      const specs = [...shared, ...(service === "backfill" ? [] : HTTP), ...ownSpecs(service)];
      expectMetrics(text as string, specs);
      expect(text).toContain(`certstream_build_info{version=`);
      if (service === "archive-search") expect(text).not.toContain("certstream_kafka_connected");
      expect(text).toMatch(new RegExp(`certstream_health_status\\{service="${service}"\\} (1|0\\.5)`));
    });
  }

  it("the archive search service answers searches for streamed domains", () => {
    expect(searchStatuses.get(200) ?? 0, JSON.stringify([...searchStatuses])).toBeGreaterThan(5);
    expect([...searchStatuses.keys()]).toEqual([200]);
  });

  it("the long-running services report Kafka and the registry connected", () => {
    for (const s of ["ingester", "streamer", "delta-sink"] as const) {
      const text = expositions.get(s) ?? "";
      expect(text, `${s}: certstream_kafka_connected`).toMatch(/^certstream_kafka_connected 1$/m);
      expect(text, `${s}: certstream_schema_registry_connected`).toMatch(
        /^certstream_schema_registry_connected 1$/m,
      );
    }
  });

  it("every dashboard query returns data from the running services", async () => {
    // The backfill job's series end with the job: its panels are evaluated at its last successful scrape.
    const upSamples = (await prom.query('up{job="backfill"}[10m]')).result as {
      values: [number, string][];
    }[];
    const backfillScrapes = (upSamples[0]?.values ?? []).filter(([, v]) => v === "1");
    expect(
      backfillScrapes.length,
      "Prometheus scraped the backfill job at least twice",
    ).toBeGreaterThanOrEqual(2);
    const backfillAt = backfillScrapes[backfillScrapes.length - 1][0];
    const empty: string[] = [];
    let answered = 0;
    for (const [file, d] of Object.entries(dashboards)) {
      for (const q of extractQueries(d as Dashboard, file, {
        rateInterval: "15s",
        interval: "1s",
        range: "5m",
      })) {
        const names = metricNames(q.expr);
        const atBackfill = names.length > 0 && names.every((n) => n.startsWith("certstream_backfill_"));
        const r = await prom.query(q.expr, atBackfill ? backfillAt : undefined);
        expect(r.status, `${file} / ${q.panel}: ${r.error}`).toBe("success");
        if (r.result.length > 0) answered++;
        else if (!names.every((n) => ONLY_ON_FAILURE.has(n.replace(/_(bucket|count|sum)$/, ""))))
          empty.push(`${file} / ${q.panel} [${q.refId}]: ${q.expr}`);
      }
    }
    // Template variables (label_values(metric, label)) must offer values too.
    for (const [file, d] of Object.entries(dashboards)) {
      const vars = ((d as Dashboard).templating?.list ?? []) as { name: string; query?: unknown }[];
      for (const v of vars) {
        const m = typeof v.query === "string" ? /^label_values\((\w+),\s*(\w+)\)$/.exec(v.query) : null;
        if (!m) continue;
        const r = await prom.query(`group by (${m[2]}) (${m[1]})`);
        if (r.result.length === 0) empty.push(`${file} variable $${v.name}: ${v.query}`);
      }
    }
    expect(empty, `queries without data:\n${empty.join("\n")}`).toEqual([]);
    expect(answered).toBeGreaterThan(60);
  });

  it("no alert is pending or firing on this healthy system", async () => {
    // Rules are evaluated every second; an alert active in most of the last 5 evaluations is not a blip
    // (a single slow request on a loaded CI machine can make a connection gauge dip once).
    // CertstreamSourceLagHigh is left out: the stand-ins re-serve real CT entries, and the static-ct-api one
    // keeps their original (months old) timestamps, so "newest entry older than an hour" is true of its data.
    const r = await prom.query('count_over_time(ALERTS{alertname!="CertstreamSourceLagHigh"}[5s]) >= 3');
    const active = (r.result as { metric: Record<string, string> }[]).map(
      (a) => `${a.metric.alertname} (${a.metric.alertstate}) ${JSON.stringify(a.metric)}`,
    );
    expect(active, active.join("\n")).toEqual([]);
  });

  // Last: it stops the streamer.
  it("stopping the only streamer makes CertstreamNoReadyStreamer pending within seconds", async () => {
    const code = await procs.get("streamer")?.stop();
    expect(code, "graceful shutdown exits 0").toBe(0);
    await waitFor(
      "CertstreamNoReadyStreamer pending",
      async () =>
        (await prom.query('ALERTS{alertname="CertstreamNoReadyStreamer", alertstate="pending"}')).result
          .length > 0,
      20_000,
    );
  });
});
