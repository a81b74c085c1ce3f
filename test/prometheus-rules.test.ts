// infra/prometheus: the scrape config and alert rules are valid, and the alerts behave as alerts.test.yml
// says (`promtool test rules`: each alert has a firing case and a look-alike that must not fire).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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

  it("alerts.yml is valid", () => {
    const r = promtool("check", "rules", "alerts.yml");
    expect(r.status, r.out).toBe(0);
  });

  it("alert unit tests pass (promtool test rules alerts.test.yml)", () => {
    const r = promtool("test", "rules", "alerts.test.yml");
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("SUCCESS");
  });
});
