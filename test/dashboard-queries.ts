// Reads Grafana dashboard JSON the way Grafana would run it against Prometheus: every Prometheus target of
// every panel (rows, collapsed rows' panels, legacy `rows[]`), with Grafana's macros and template variables
// substituted, so the queries can be sent to a real Prometheus (no Grafana on these machines).

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  refId: string;
  /** As written in the dashboard. */
  raw: string;
  /** Macros and variables substituted: what Prometheus receives. */
  expr: string;
  instant: boolean;
}

interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: {
    expr?: string;
    refId?: string;
    hide?: boolean;
    instant?: boolean;
    datasource?: Panel["datasource"];
  }[];
  panels?: Panel[];
}

interface TemplateVar {
  name: string;
  type?: string;
  allValue?: string | null;
  current?: { value?: string | string[] };
}

export interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  rows?: { panels?: Panel[] }[];
  templating?: { list?: TemplateVar[] };
}

export interface MacroValues {
  rateInterval: string;
  interval: string;
  range: string;
}

const DEFAULT_MACROS: MacroValues = { rateInterval: "1m", interval: "15s", range: "5m" };

function isPrometheus(ds: Panel["datasource"]): boolean {
  if (ds === undefined || ds === null) return true; // the default datasource is Prometheus here
  if (typeof ds === "string") return !/loki|elastic|influx|graphite|tempo/i.test(ds);
  return (
    ds.type === undefined ||
    ds.type === "prometheus" ||
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax, not a JS template.
    ds.uid === "${datasource}" ||
    ds.uid === "$datasource"
  );
}

function variableValues(d: Dashboard): Map<string, string> {
  const values = new Map<string, string>();
  for (const v of d.templating?.list ?? []) {
    if (v.type === "datasource") continue;
    const cur = v.current?.value;
    const all = v.allValue ?? ".*";
    let value: string;
    if (cur === undefined || cur === "$__all" || (Array.isArray(cur) && cur.includes("$__all"))) value = all;
    else if (Array.isArray(cur)) value = cur.length === 1 ? cur[0] : `(${cur.join("|")})`;
    else value = cur;
    values.set(v.name, value);
  }
  return values;
}

export function substitute(
  expr: string,
  vars: Map<string, string>,
  macros: MacroValues = DEFAULT_MACROS,
): string {
  let out = expr
    .replaceAll(/\$\{__rate_interval\}|\$__rate_interval/g, macros.rateInterval)
    .replaceAll(/\$\{__interval\}|\$__interval/g, macros.interval)
    .replaceAll(/\$\{__range\}|\$__range/g, macros.range);
  for (const [name, value] of vars) {
    out = out.replaceAll(new RegExp(`\\$\\{${name}(?::[a-z]+)?\\}|\\$${name}\\b`, "g"), value);
  }
  return out;
}

export function extractQueries(
  d: Dashboard,
  name = d.uid ?? d.title ?? "dashboard",
  macros?: MacroValues,
): DashboardQuery[] {
  const vars = variableValues(d);
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[] | undefined): void => {
    for (const p of panels ?? []) {
      if (p.panels) walk(p.panels);
      if (!p.targets || !isPrometheus(p.datasource)) continue;
      for (const t of p.targets) {
        if (t.hide || !t.expr || !isPrometheus(t.datasource ?? p.datasource)) continue;
        out.push({
          dashboard: name,
          panel: p.title ?? "(untitled)",
          refId: t.refId ?? "?",
          raw: t.expr,
          expr: substitute(t.expr, vars, macros),
          instant: Boolean(t.instant),
        });
      }
    }
  };
  walk(d.panels);
  for (const r of d.rows ?? []) walk(r.panels);
  return out;
}

const PROMQL_WORDS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "stddev",
  "stdvar",
  "topk",
  "bottomk",
  "quantile",
  "count_values",
  "group",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "offset",
  "bool",
  "le",
]);

/** Metric names an expression selects (identifiers not followed by `(` and not label names or keywords). */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replaceAll(/"(?:[^"\\]|\\.)*"/g, '""');
  const noMatchers = noStrings.replaceAll(/\{[^}]*\}/g, "{}");
  const noGroupings = noMatchers.replaceAll(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g,
    "",
  );
  const names = new Set<string>();
  for (const m of noGroupings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    if (m[2]) continue; // a function call
    if (PROMQL_WORDS.has(m[1])) continue;
    if (/^\d/.test(m[1]) || /^[0-9.]+[smhdwy]?$/.test(m[1])) continue;
    if (!m[1].includes("_")) continue; // durations (1m, 5m), `vector`, etc.
    names.add(m[1]);
  }
  return [...names];
}
