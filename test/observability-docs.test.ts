// docs/observability.md stays true: its metrics table is what the code declares, and it documents every
// alert rule and every dashboard.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { dashboards } from "../infra/grafana/dashboards.ts";
import { declaredMetrics } from "./declared-metrics.ts";
import { currentDocTable, DOC_PATH, renderTable } from "./metrics-table.ts";
import { repoRoot } from "./prometheus-bin.ts";

const doc = readFileSync(DOC_PATH, "utf8");

describe("docs/observability.md", () => {
  it("has the metrics table of the code (regenerate: node test/metrics-table.ts --write)", () => {
    expect(currentDocTable()).toBe(renderTable());
  });

  it("every declared metric has a help text and a unique name", () => {
    const metrics = declaredMetrics();
    expect(metrics.filter((m) => m.help.length < 10).map((m) => m.name)).toEqual([]);
    const names = metrics.map((m) => m.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("documents every alert rule", () => {
    const rules = parseYaml(readFileSync(join(repoRoot, "infra/prometheus/alerts.yml"), "utf8")) as {
      groups: { rules: { alert: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.filter((a) => !doc.includes(`\`${a}\``))).toEqual([]);
  });

  it("documents every dashboard", () => {
    const uids = Object.values(dashboards).map((d) => (d as { uid: string }).uid);
    expect(uids.filter((u) => !doc.includes(`\`${u}\``))).toEqual([]);
  });
});
