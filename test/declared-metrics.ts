// The metric names the code declares: every `name: "certstream_..."` passed to the @certstream/metrics
// factories in libs/*/src and services/*/src, plus prom-client's default process metrics. Dashboards, alerts
// and docs are checked against this list so a renamed metric cannot leave a panel silently empty.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { registry } from "@certstream/metrics";
import { parseExposition } from "./metrics-expect.ts";
import { repoRoot } from "./prometheus-bin.ts";

export interface DeclaredMetric {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary";
  file: string;
  help: string;
  labels: string[];
}

function tsFiles(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === "node_modules") continue;
    if (statSync(p).isDirectory()) out = out.concat(tsFiles(p));
    else if (e.endsWith(".ts") && !e.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const DECL_RE =
  /\b(counter|gauge|histogram|summary)\s*(?:<[^>]*>)?\s*\(\s*\{\s*name:\s*"(certstream_[a-z0-9_]+)"/g;

export function declaredMetrics(): DeclaredMetric[] {
  const files = ["libs", "services"].flatMap((top) =>
    readdirSync(join(repoRoot, top)).flatMap((pkg) => tsFiles(join(repoRoot, top, pkg, "src"))),
  );
  const out: DeclaredMetric[] = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(DECL_RE)) {
      // The rest of the spec literal: up to the factory call's closing `})`.
      const rest = text.slice((m.index ?? 0) + m[0].length);
      const spec = rest.slice(0, Math.max(0, rest.indexOf("})")) || 2000);
      const help = /help:\s*((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+)/.exec(spec)?.[1] ?? "";
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(spec)?.[1] ?? "";
      out.push({
        name: m[2],
        type: m[1] as DeclaredMetric["type"],
        file: f.slice(repoRoot.length + 1),
        help: [...help.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((h) => h[1]).join(""),
        labels: [...labels.matchAll(/"([^"]+)"/g)].map((l) => l[1]),
      });
    }
  }
  return out;
}

/** prom-client's default metrics (process_*, nodejs_*), as collected on the process registry. */
export async function defaultMetricNames(): Promise<Map<string, string>> {
  const fams = parseExposition(await registry.metrics());
  const out = new Map<string, string>();
  for (const [name, f] of fams) if (!name.startsWith("certstream_")) out.set(name, f.type);
  return out;
}

/** Whether a selected series name (maybe with _bucket/_count/_sum) belongs to a known family. */
export function isKnownSeries(series: string, known: ReadonlySet<string>): boolean {
  if (known.has(series)) return true;
  for (const s of ["_bucket", "_count", "_sum"])
    if (series.endsWith(s) && known.has(series.slice(0, -s.length))) return true;
  return false;
}
