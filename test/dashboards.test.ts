// infra/grafana: the dashboards are what infra/grafana/dashboards.ts generates, well-formed for Grafana's
// provisioning, every query parses in a real Prometheus (a syntax error is HTTP 400 from /api/v1/query),
// every metric a query selects is declared by the code, and (test/dashboards-data.test.ts) every query
// returns data from running services.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboards, renderDashboard } from "../infra/grafana/dashboards.ts";
import { type Dashboard, extractQueries, metricNames } from "./dashboard-queries.ts";
import { declaredMetrics, defaultMetricNames, isKnownSeries } from "./declared-metrics.ts";
import { repoRoot } from "./prometheus-bin.ts";
import { type PrometheusProcess, startPrometheus } from "./prometheus-process.ts";

const dir = join(repoRoot, "infra/grafana/dashboards");
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
const loaded: [string, Dashboard][] = files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), "utf8"))]);
const queries = loaded.flatMap(([f, d]) => extractQueries(d, f));

describe("infra/grafana dashboards", () => {
  it("are the generator's output (run `node infra/grafana/dashboards.ts` after editing it)", () => {
    expect(files.sort()).toEqual(Object.keys(dashboards).sort());
    for (const [f, d] of Object.entries(dashboards))
      expect(readFileSync(join(dir, f), "utf8"), f).toBe(renderDashboard(d));
  });

  it("cover overview, CT logs, streamer, delta sink and backfill, with unique uids and panel ids", () => {
    const uids = loaded.map(([, d]) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids.sort()).toEqual([
      "certstream-ct-logs",
      "certstream-delta-backfill",
      "certstream-overview",
      "certstream-streamer",
    ]);
    for (const [f, d] of loaded) {
      const panels = (d.panels ?? []) as { id: number; gridPos: { x: number; w: number } }[];
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, f).toBe(ids.length);
      for (const p of panels) expect(p.gridPos.x + p.gridPos.w, `${f} panel ${p.id}`).toBeLessThanOrEqual(24);
      expect(d.templating?.list?.[0]).toMatchObject({
        name: "datasource",
        type: "datasource",
        query: "prometheus",
      });
    }
    expect(queries.length).toBeGreaterThan(80);
  });

  it("provisioning points Grafana at Prometheus and at the dashboards folder", () => {
    const ds = readFileSync(join(repoRoot, "infra/grafana/provisioning/datasources/prometheus.yml"), "utf8");
    expect(ds).toContain("uid: certstream-prometheus");
    expect(ds).toContain("type: prometheus");
    const prov = readFileSync(join(repoRoot, "infra/grafana/provisioning/dashboards/certstream.yml"), "utf8");
    expect(prov).toContain("path: /var/lib/grafana/dashboards/certstream");
    for (const [, d] of loaded)
      expect(JSON.stringify(d.templating)).toContain('"value":"certstream-prometheus"');
  });

  it("select only metrics the code declares", async () => {
    const known = new Set([
      ...declaredMetrics().map((m) => m.name),
      ...(await defaultMetricNames()).keys(),
      "up",
    ]);
    const unknown: string[] = [];
    for (const q of queries)
      for (const n of metricNames(q.expr))
        if (!isKnownSeries(n, known)) unknown.push(`${q.dashboard} / ${q.panel}: ${n}`);
    expect(unknown, `metrics no service declares:\n${unknown.join("\n")}`).toEqual([]);
  });

  it("show every metric the code declares somewhere (add a panel in infra/grafana/dashboards.ts)", () => {
    const used = new Set(
      queries.flatMap((q) => metricNames(q.expr)).map((n) => n.replace(/_(bucket|count|sum)$/, "")),
    );
    const missing = declaredMetrics()
      .filter((m) => !used.has(m.name))
      .map((m) => `${m.name} (${m.file})`);
    expect(missing, `declared but on no dashboard:\n${missing.join("\n")}`).toEqual([]);
  });

  describe("against a real Prometheus", () => {
    let prom: PrometheusProcess;
    beforeAll(async () => {
      prom = await startPrometheus([]);
    }, 40_000);
    afterAll(async () => {
      await prom?.stop();
    });

    it("every query parses", async () => {
      const bad: string[] = [];
      for (const q of queries) {
        const r = await prom.query(q.expr);
        if (r.httpStatus !== 200 || r.status !== "success")
          bad.push(
            `${q.dashboard} / ${q.panel} [${q.refId}]: HTTP ${r.httpStatus} ${r.error ?? ""}\n  ${q.expr}`,
          );
      }
      expect(bad, bad.join("\n")).toEqual([]);
    });

    it("a broken query is caught (the check can fail)", async () => {
      const r = await prom.query("sum(rate(certstream_x_total[1m])");
      expect(r.httpStatus).toBe(400);
      expect(r.error).toMatch(/parse error/);
    });
  });
});
