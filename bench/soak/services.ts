/**
 * The soak's system under test: stand-in CT logs (RFC 6962 and static-ct-api, distinct certificates, faults),
 * one config for the three services on the private cluster, and each service as a supervised child process
 * that counts the exits it did not ask for (crashes) and restarts after them so the soak goes on.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Names } from "../../services/ingester/test/harness.ts";
import { StandInServer } from "../../test/ct-standin/server.ts";
import type { KafkaCluster } from "../../test/kafka-cluster.ts";
import { type ServiceName, ServiceProcess, waitForHttp } from "../../test/service-process.ts";
import { registryUrl } from "../../test/stack.ts";

/** Logs a and b serve the same certificates (certSeed), so `certs` has duplicates to drop. Entries per second. */
const RFC_LOGS = [
  { name: "a", certSeed: 21, growRate: 12 },
  { name: "b", certSeed: 21, growRate: 8 },
  { name: "c", certSeed: 22, growRate: 10 },
];
const STATIC_LOGS = [{ name: "d", certSeed: 23, growRate: 6 }];
export const TOTAL_GROW_RATE = [...RFC_LOGS, ...STATIC_LOGS].reduce((n, l) => n + l.growRate, 0);

/** Growing stand-ins; nothing grows past the real entries until `l.start()`. */
export function soakStandIns(): StandInServer {
  const server = new StandInServer({ growOnStart: false });
  for (const l of RFC_LOGS) server.addRfc6962({ ...l, mode: "distinct" });
  for (const l of STATIC_LOGS) server.addStatic({ ...l, mode: "distinct" });
  return server;
}

export interface Ports {
  ingester: number;
  streamer: number;
  sink: number;
}

/** One config for all three services (JSON is YAML), replication factor 3 on the private cluster. */
export function writeSoakConfig(
  dir: string,
  cluster: KafkaCluster,
  server: StandInServer,
  names: Names,
  ports: Ports,
): string {
  const logs = [...server.logs.values()];
  const common = (name: string) => ({
    name,
    url: server.url(name),
    operator: server.logs.get(name)?.operator,
    key: server.logs.get(name)?.key.publicKeyBase64,
    start_index: 0,
  });
  const config = {
    host: "127.0.0.1",
    port: ports.streamer,
    log_level: "info",
    kafka: {
      brokers: cluster.brokers,
      schema_registry_url: registryUrl(),
      partitions: 3,
      replication_factor: 3,
      topics: { entries: names.entries, certs: names.certs, backfill: names.backfill, state: names.state },
    },
    ct_log: { poll_interval_ms: 500, log_list_enabled: false, batch_size: 64, retry_max_delay_ms: 2000 },
    custom_logs: logs.filter((l) => l.kind === "rfc6962").map((l) => common(l.name)),
    static_logs: logs
      .filter((l) => l.kind === "static")
      // The checkpoint origin is derived from submission_url.
      .map((l) => ({ ...common(l.name), submission_url: `https://${server.static(l.name).origin}/` })),
    ingester: {
      port: ports.ingester,
      replica_id: "soak",
      group_id: names.group,
      dedup_group_id: names.dedupGroup,
      coordination_topic: names.coordination,
      coordination_partitions: 16,
      session_timeout_ms: 10_000,
      transactional_id_prefix: names.txPrefix,
      dedup_transactional_id_prefix: names.dedupTxPrefix,
      transaction_timeout_ms: 20_000,
      max_batch_entries: 50,
    },
    delta_sink: {
      port: ports.sink,
      table_path: join(dir, "table"),
      group_id: sinkGroup(names),
      batch_size: 500,
      flush_interval_secs: 2,
      session_timeout_ms: 10_000,
      retry_max_backoff_secs: 2,
    },
    metrics: { enabled: false },
  };
  const path = join(dir, "config.yaml");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export const sinkGroup = (names: Names): string => `${names.group}-sink`;

/** A service child process that is restarted when it exits on its own, counting that as a crash. */
export class SupervisedService {
  readonly proc: ServiceProcess;
  readonly healthUrl: string;
  crashes = 0;
  kills = 0;
  startedAt = 0;
  readonly #env: NodeJS.ProcessEnv;
  #expectExit = false;
  #stopping = false;
  #onCrash: (s: SupervisedService, exit: string) => void;

  constructor(
    name: ServiceName,
    configPath: string,
    logPath: string,
    healthUrl: string,
    env: NodeJS.ProcessEnv,
    onCrash: (s: SupervisedService, exit: string) => void,
  ) {
    this.proc = new ServiceProcess(name, ["--config", configPath], logPath);
    this.healthUrl = healthUrl;
    this.#env = env;
    this.#onCrash = onCrash;
  }

  get name(): ServiceName {
    return this.proc.service;
  }

  start(): this {
    this.#expectExit = false;
    this.proc.start(this.#env);
    this.startedAt = Date.now();
    void this.proc.exitStatus.then((exit) => this.#exited(`code ${exit.code} signal ${exit.signal}`));
    return this;
  }

  #exited(exit: string): void {
    if (this.#expectExit || this.#stopping) return;
    this.crashes++;
    this.#onCrash(this, exit);
    setTimeout(() => this.#stopping || this.start(), 1000);
  }

  async waitHealthy(timeoutMs = 120_000): Promise<void> {
    await waitForHttp(this.healthUrl, this.proc, timeoutMs);
  }

  /** kill -9 (a fault we inject, not a crash). */
  async kill9(): Promise<void> {
    this.#expectExit = true;
    this.kills++;
    await this.proc.kill9();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.proc.stop(5_000);
  }
}
