/**
 * One configuration for the whole system (ingester, streamer, delta sink) on a private Kafka cluster, as the
 * cross-service tests, the soak and the end-to-end benches write it: the stand-in's RFC 6962 logs as
 * `custom_logs`, its static ones as `static_logs`, replication factor 3. Callers override what their run is
 * about (ct_log cadence, batch sizes, flush interval).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Names } from "../services/ingester/test/harness.ts";
import type { StandInServer } from "./ct-standin/server.ts";
import type { KafkaCluster } from "./kafka-cluster.ts";
import { registryUrl } from "./stack.ts";

export interface SystemPorts {
  ingester: number;
  streamer?: number;
  sink?: number;
}

export interface SystemConfigOptions {
  cluster: Pick<KafkaCluster, "brokers">;
  names: Names;
  ports: SystemPorts;
  /** The stand-in whose logs are watched (from index 0); none: no logs. */
  server?: StandInServer | null;
  /** The delta sink's table (its section is written only with ports.sink). */
  tablePath?: string;
  ctLog?: Record<string, unknown>;
  ingester?: Record<string, unknown>;
  deltaSink?: Record<string, unknown>;
  replicaId?: string;
  /** `kafka.partitions` (3). */
  partitions?: number;
}

export const sinkGroupOf = (names: Names): string => `${names.group}-sink`;

export function systemConfig(o: SystemConfigOptions): Record<string, unknown> {
  const { names, server } = o;
  const logs = [...(server?.logs.values() ?? [])];
  const common = (name: string) => {
    const l = server?.logs.get(name);
    return {
      name,
      url: server?.url(name),
      operator: l?.operator,
      key: l?.key.publicKeyBase64,
      start_index: 0,
    };
  };
  return {
    host: "127.0.0.1",
    ...(o.ports.streamer ? { port: o.ports.streamer } : {}),
    log_level: "info",
    kafka: {
      brokers: o.cluster.brokers,
      schema_registry_url: registryUrl(),
      partitions: o.partitions ?? 3,
      replication_factor: Math.min(3, o.cluster.brokers.length),
      topics: { entries: names.entries, certs: names.certs, backfill: names.backfill, state: names.state },
    },
    ct_log: { poll_interval_ms: 200, log_list_enabled: false, batch_size: 64, ...o.ctLog },
    custom_logs: logs.filter((l) => l.kind === "rfc6962").map((l) => common(l.name)),
    static_logs: logs
      .filter((l) => l.kind === "static")
      // The checkpoint origin is derived from submission_url.
      .map((l) => ({ ...common(l.name), submission_url: `https://${server?.static(l.name).origin}/` })),
    ingester: {
      port: o.ports.ingester,
      replica_id: o.replicaId ?? "r1",
      group_id: names.group,
      dedup_group_id: names.dedupGroup,
      coordination_topic: names.coordination,
      coordination_partitions: 16,
      session_timeout_ms: 10_000,
      transactional_id_prefix: names.txPrefix,
      dedup_transactional_id_prefix: names.dedupTxPrefix,
      transaction_timeout_ms: 20_000,
      ...o.ingester,
    },
    ...(o.ports.sink
      ? {
          delta_sink: {
            port: o.ports.sink,
            table_path: o.tablePath,
            group_id: sinkGroupOf(names),
            batch_size: 500,
            flush_interval_secs: 1,
            session_timeout_ms: 10_000,
            retry_max_backoff_secs: 2,
            ...o.deltaSink,
          },
        }
      : {}),
    metrics: { enabled: false },
  };
}

/** Writes systemConfig(o) to `<dir>/config.yaml` (JSON is YAML) and returns its path. */
export function writeSystemConfig(dir: string, o: SystemConfigOptions): string {
  const path = join(dir, "config.yaml");
  writeFileSync(path, JSON.stringify(systemConfig(o), null, 2));
  return path;
}

/**
 * The environment of a service on a private cluster: the shared stack's broker list, exported by
 * scripts/test.sh and `stack.sh env`, would win over the file.
 */
export function clusterEnv(cluster: Pick<KafkaCluster, "brokers">): NodeJS.ProcessEnv {
  return { LOG_LEVEL: "info", CERTSTREAM_KAFKA_BROKERS: cluster.brokers.join(",") };
}
