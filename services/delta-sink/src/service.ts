import type { Config } from "@certstream/config";
import { StorageConfigError, storageFor, tableLocationText, verifyStorage } from "@certstream/delta";
import { CertificateEntryCodec, createKafka, ensureTopics, topicNames, topicSpecs } from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import { HealthState, registerHttpMetrics, registerMetricsRoute } from "@certstream/metrics";
import Fastify, { type FastifyInstance } from "fastify";
import { DeltaSink } from "./sink.ts";

export interface DeltaSinkService {
  sink: DeltaSink;
  health: HealthState;
  /** http://host:port of /health, /health/ready, /metrics. */
  url: string;
  stop(): Promise<void>;
}

/** /health (liveness), /health/ready (table open and partitions assigned), /metrics (404 while metrics.enabled). */
export function buildHttp(health: HealthState, sink: DeltaSink): FastifyInstance {
  const app = Fastify({ logger: false });
  registerHttpMetrics(app, { ignoreRoutes: ["/metrics"] });
  app.get("/health", async (_req, reply) =>
    reply.code(health.live ? 200 : 503).send({ status: health.live ? "ok" : "down", health: health.status }),
  );
  app.get("/health/ready", async (_req, reply) =>
    reply.code(health.ready ? 200 : 503).send({
      status: health.ready ? "ready" : "not_ready",
      health: health.status,
      table_open: sink.deltaTable !== null,
      table_version: sink.deltaTable?.version ?? null,
      buffered: sink.buffered,
    }),
  );
  registerMetricsRoute(app);
  return app;
}

/**
 * Wires config into a running sink: Kafka client, registry codec, the table's storage, HTTP endpoints. Returns
 * once the HTTP listener is up; the table is opened (and retried) in the background, so a table that cannot be
 * created leaves the service up but unready.
 */
export async function startDeltaSinkService(config: Config, logger: Logger): Promise<DeltaSinkService> {
  const ds = config.delta_sink;
  const health = new HealthState({ logger, service: "delta-sink" });
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.client_id}-delta-sink`,
    logger,
  });
  // A table location that cannot work (bad URI, missing bucket, refused credentials, a store that ignores
  // If-None-Match) stops the start with the key named; an unreachable store only delays readiness.
  const storage = storageFor(ds);
  await verifyStorage(storage).catch((err: unknown) => {
    if (err instanceof StorageConfigError) throw err;
    logger.warn(
      { table: storage.location, err: String(err) },
      "delta-sink: storage check failed; opening retries",
    );
  });
  const names = topicNames(config.kafka);
  if (config.kafka.create_topics) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await ensureTopics(admin, topicSpecs(config.kafka));
    } catch (err) {
      // Topic creation belongs to whoever starts first; the consumer retries until the topics exist.
      logger.warn({ err: String(err) }, "kafka: could not ensure topics; continuing");
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
  const sink = new DeltaSink({
    kafka,
    decoder: new CertificateEntryCodec({
      registryUrl: config.kafka.schema_registry_url,
      clientId: "certstream-delta-sink",
    }),
    storage,
    topics: [names.entries, names.backfill],
    groupId: ds.group_id,
    appId: ds.app_id,
    batchSize: ds.batch_size,
    maxBatchBytes: ds.max_batch_bytes,
    flushIntervalMs: ds.flush_interval_secs * 1000,
    maxBufferedRecords: ds.max_buffered_records,
    retryMaxBackoffMs: ds.retry_max_backoff_secs * 1000,
    checkpointInterval: ds.checkpoint_interval,
    logger,
    health,
    consumerConfig: {
      sessionTimeout: ds.session_timeout_ms,
      heartbeatInterval: Math.max(500, Math.floor(ds.session_timeout_ms / 10)),
    },
  });
  const http = buildHttp(health, sink);
  const url = await http.listen({ host: config.host, port: ds.port });
  logger.info(
    { url, table: tableLocationText(ds), topics: [names.entries, names.backfill], group: ds.group_id },
    "delta-sink: listening",
  );
  void sink.start();
  return {
    sink,
    health,
    url,
    async stop() {
      await sink.stop();
      await http.close();
    },
  };
}
