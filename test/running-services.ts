/**
 * The ingester, streamer and delta sink as child processes on topics of their own (one config file, as an
 * operator runs them), for cross-service tests that talk to their HTTP ports: request fuzzing, where /metrics
 * is served. No CT logs are watched; certificates, when a test wants some, are produced to the certs topic.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, ServiceProcess } from "./service-process.ts";
import { kafkaBrokers, registryUrl, testTopics, uniqueName } from "./stack.ts";

export const HTTP_SERVICES = ["ingester", "streamer", "delta-sink"] as const;
export type HttpService = (typeof HTTP_SERVICES)[number];

export interface RunningServices {
  dir: string;
  topics: ReturnType<typeof testTopics>;
  /** Each service's own HTTP port (ingester API, streamer, delta sink). */
  ports: Record<HttpService, number>;
  procs: Record<HttpService, ServiceProcess>;
  /** Exit status of each service that has exited; a running one has none. */
  exits: Map<HttpService, string>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Env for one service's process (e.g. CERTSTREAM_METRICS_* for its dedicated listener). */
  env?: Partial<Record<HttpService, Record<string, string>>>;
  /** Config sections merged over the defaults below (one level deep). */
  config?: Record<string, unknown>;
  /** Wait for this path on every service port to answer 2xx. Default "/health/ready". */
  readyPath?: string;
  timeoutMs?: number;
}

export async function startServices(prefix: string, opts: StartOptions = {}): Promise<RunningServices> {
  const base = uniqueName(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const topics = testTopics(base);
  const ports = {} as Record<HttpService, number>;
  for (const s of HTTP_SERVICES) ports[s] = await freePort();
  const defaults: Record<string, Record<string, unknown>> = {
    kafka: {
      brokers: kafkaBrokers(),
      schema_registry_url: registryUrl(),
      client_id: base,
      partitions: 2,
      topics,
    },
    ct_log: { log_list_enabled: false },
    dedup: { enabled: true, capacity: 10_000, ttl_secs: 3600 },
    ingester: {
      port: ports.ingester,
      replica_id: `${prefix}-1`,
      group_id: `${base}-ingester`,
      dedup_group_id: `${base}-dedup`,
      coordination_topic: `${base}.logs`,
      coordination_partitions: 2,
      session_timeout_ms: 6000,
      heartbeat_interval_ms: 1000,
      transactional_id_prefix: `${base}-tx`,
      dedup_transactional_id_prefix: `${base}-dtx`,
    },
    delta_sink: {
      enabled: true,
      port: ports["delta-sink"],
      table_path: join(dir, "table"),
      group_id: `${base}-sink`,
      app_id: `${base}-sink`,
      flush_interval_secs: 1,
    },
  };
  const config: Record<string, unknown> = {
    host: "127.0.0.1",
    port: ports.streamer,
    log_level: "warn",
    custom_logs: [],
    metrics: { enabled: false },
    ...defaults,
  };
  for (const [k, v] of Object.entries(opts.config ?? {})) {
    const cur = config[k];
    config[k] =
      v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object"
        ? { ...cur, ...v }
        : v;
  }
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  const procs = {} as Record<HttpService, ServiceProcess>;
  const exits = new Map<HttpService, string>();
  // The ingester first: it creates the topics the others read.
  for (const s of HTTP_SERVICES) {
    const p = new ServiceProcess(s, ["--config", configPath], join(dir, `${s}.log`)).start(
      opts.env?.[s] ?? {},
    );
    procs[s] = p;
    void p.exitStatus.then((e) => exits.set(s, `code ${e.code} signal ${e.signal}`));
  }
  const stop = async () => {
    await Promise.allSettled(HTTP_SERVICES.map((s) => procs[s].stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const readyPath = opts.readyPath ?? "/health/ready";
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  try {
    for (const s of HTTP_SERVICES) {
      for (;;) {
        const exit = exits.get(s);
        if (exit) throw new Error(`${s} exited (${exit}) while starting:\n${procs[s].tail()}`);
        if (Date.now() > deadline)
          throw new Error(`${s} did not answer ${readyPath} in time:\n${procs[s].tail()}`);
        const ok = await fetch(`http://127.0.0.1:${ports[s]}${readyPath}`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, topics, ports, procs, exits, stop };
}
