// Checks a Prometheus text exposition against expected metric families: name, type and label set.
// Used by every service's metrics test and by the cross-service scrape test (test/service-metrics.test.ts).
import { expect } from "vitest";

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface MetricSpec {
  /** Family name as in `# TYPE <name> <type>` (counters include `_total`, e.g. certstream_x_total). */
  name: string;
  type: MetricType;
  /** Label names every sample carries (order ignored), excluding `le` / `quantile`. Omit to not check. */
  labels?: readonly string[];
  /** Require at least one sample (default true). A labelled metric has none until first used. */
  hasSamples?: boolean;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count", "_total", "_created"]) {
    if (sampleName.endsWith(suffix)) {
      const f = families.get(sampleName.slice(0, -suffix.length));
      if (f) return f;
    }
  }
  return undefined;
}

/** Parses the text format (0.0.4) into families keyed by name. Throws on a malformed line. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const get = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: "untyped", help: "", samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const parts = line.slice(7).split(" ");
      get(parts[0]).help = parts.slice(1).join(" ");
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      get(name).type = type as MetricType;
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`malformed exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? "").matchAll(LABEL_RE)) labels[lm[1]] = lm[2];
    const value = Number(m[3]);
    const fam = familyOf(m[1], families) ?? get(m[1]);
    fam.samples.push({ name: m[1], labels, value });
  }
  return families;
}

/** Asserts every spec is present in the exposition with its type and exact label set. */
export function expectMetrics(text: string, specs: readonly MetricSpec[]): Map<string, MetricFamily> {
  const families = parseExposition(text);
  const problems: string[] = [];
  for (const spec of specs) {
    // prom-client writes counters' TYPE line with the full name (`x_total`); the OpenMetrics style drops it.
    const fam = families.get(spec.name) ?? families.get(spec.name.replace(/_total$/, ""));
    if (!fam) {
      problems.push(`${spec.name}: missing`);
      continue;
    }
    if (fam.type !== spec.type) problems.push(`${spec.name}: type ${fam.type}, expected ${spec.type}`);
    if ((spec.hasSamples ?? true) && fam.samples.length === 0) problems.push(`${spec.name}: no samples`);
    if (spec.labels) {
      const want = [...spec.labels].sort().join(",");
      for (const s of fam.samples) {
        const got = Object.keys(s.labels)
          .filter((l) => l !== "le" && l !== "quantile")
          .sort()
          .join(",");
        if (got !== want) {
          problems.push(`${spec.name}: sample ${s.name}{${got}} has labels [${got}], expected [${want}]`);
          break;
        }
      }
    }
  }
  expect(problems, `metrics exposition problems:\n${problems.join("\n")}`).toEqual([]);
  return families;
}
