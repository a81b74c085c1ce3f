// A real Prometheus (Debian's package, as a child process) for tests: own port, own temp storage, given
// scrape targets. Queries go through its HTTP API, so what passes here passes in Grafana's Prometheus too.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prometheusBinary } from "./prometheus-bin.ts";
import { freePort } from "./service-process.ts";

export interface ScrapeJob {
  job: string;
  targets: string[];
  path?: string;
  /** Scrape over HTTPS, trusting `ca`, with a client certificate (a listener with require_mtls). */
  tls?: { ca: string; cert: string; key: string };
}

export interface QueryResult {
  httpStatus: number;
  status: string;
  error?: string;
  resultType?: string;
  result: unknown[];
}

export interface PrometheusProcess {
  url: string;
  /** Instant query at `time` (Unix seconds; default now). */
  query(expr: string, time?: number): Promise<QueryResult>;
  /** Scrape targets with their health (`up`, last error). */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(
  jobs: ScrapeJob[],
  opts: { scrapeInterval?: string; ruleFiles?: string[] } = {},
): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), "prom-test-"));
  const port = await freePort();
  const interval = opts.scrapeInterval ?? "1s";
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(opts.ruleFiles?.length
      ? ["rule_files:", ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)]
      : []),
    "scrape_configs:",
    ...jobs.flatMap((j) => [
      `  - job_name: ${JSON.stringify(j.job)}`,
      `    metrics_path: ${JSON.stringify(j.path ?? "/metrics")}`,
      ...(j.tls
        ? [
            "    scheme: https",
            "    tls_config:",
            `      ca_file: ${JSON.stringify(j.tls.ca)}`,
            `      cert_file: ${JSON.stringify(j.tls.cert)}`,
            `      key_file: ${JSON.stringify(j.tls.key)}`,
          ]
        : []),
      "    static_configs:",
      `      - targets: ${JSON.stringify(j.targets)}`,
    ]),
  ].join("\n");
  writeFileSync(join(dir, "prometheus.yml"), `${config}\n`);
  const child: ChildProcess = spawn(
    prometheusBinary("prometheus"),
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(expr: string, time?: number): Promise<QueryResult> {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set("time", String(time));
      const r = await fetch(`${url}/api/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: params,
      });
      const body = (await r.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      const result = body.data?.result;
      return {
        httpStatus: r.status,
        status: body.status,
        ...(body.error ? { error: body.error } : {}),
        ...(body.data ? { resultType: body.data.resultType } : {}),
        // A scalar result is [time, value]: count it as one sample.
        result: Array.isArray(result) ? (body.data?.resultType === "scalar" ? [result] : result) : [],
      };
    },
    async targets() {
      const r = await fetch(`${url}/api/v1/targets`);
      const body = (await r.json()) as {
        data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
      };
      return body.data.activeTargets.map((t) => ({
        job: t.labels.job,
        health: t.health,
        lastError: t.lastError,
      }));
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
