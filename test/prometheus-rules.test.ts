// infra/prometheus: the scrape config and alert rules are valid, and the alerts behave as alerts.test.yml
// says (`promtool test rules`: each alert has a firing case and a look-alike that must not fire).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { metricNames } from "./dashboard-queries.ts";
import { declaredMetrics, defaultMetricNames, isKnownSeries } from "./declared-metrics.ts";
import { prometheusBinary, repoRoot } from "./prometheus-bin.ts";

const dir = join(repoRoot, "infra/prometheus");

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(prometheusBinary("promtool"), args, { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("infra/prometheus", () => {
  it("prometheus.yml is a valid config and loads alerts.yml", () => {
    const r = promtool("check", "config", "prometheus.yml");
    expect(r.out).toContain("SUCCESS: 1 rule files found");
    expect(r.status, r.out).toBe(0);
  });

  it("prometheus.compose.yml (docker compose) is valid and loads the same alerts", () => {
    // It names the rule file by its path inside the container; check it against the file here.
    const tmp = mkdtempSync(join(tmpdir(), "prom-compose-"));
    try {
      const text = readFileSync(join(dir, "prometheus.compose.yml"), "utf8");
      expect(text).toContain("/etc/prometheus/alerts.yml");
      writeFileSync(
        join(tmp, "prometheus.yml"),
        text.replace("/etc/prometheus/alerts.yml", join(dir, "alerts.yml")),
      );
      const r = promtool("check", "config", join(tmp, "prometheus.yml"));
      expect(r.status, r.out).toBe(0);
      for (const job of ["ingester", "streamer", "delta-sink", "backfill"])
        expect(text).toContain(`job_name: ${job}\n`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("alerts.yml is valid", () => {
    const r = promtool("check", "rules", "alerts.yml");
    expect(r.status, r.out).toBe(0);
  });

  it("alert unit tests pass (promtool test rules alerts.test.yml)", () => {
    const r = promtool("test", "rules", "alerts.test.yml");
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("SUCCESS");
  });

  it("alerts select only metrics the code declares", async () => {
    const rules = parseYaml(readFileSync(join(dir, "alerts.yml"), "utf8")) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const known = new Set([
      ...declaredMetrics().map((m) => m.name),
      ...(await defaultMetricNames()).keys(),
      "up",
    ]);
    const unknown = rules.groups
      .flatMap((g) => g.rules)
      .flatMap((r) => metricNames(r.expr).map((n) => [r.alert, n]))
      .filter(([, n]) => !isKnownSeries(n, known))
      .map(([a, n]) => `${a}: ${n}`);
    expect(unknown, unknown.join("\n")).toEqual([]);
  });
});
