import { hostname } from "node:os";
import type { Config } from "@certstream/config";
import {
  CertificateEntryCodec,
  createKafka,
  ensureTopics,
  StateCodec,
  topicNames,
  topicSpecs,
  valueSubject,
} from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import { HealthState, setKafkaConnected, setSchemaRegistryConnected } from "@certstream/metrics";
import type { FastifyInstance } from "fastify";
import { buildApi } from "./api.ts";
import { DedupStage } from "./dedup-stage.ts";
import { Ingester, type WatchableLog } from "./ingester.ts";
import { errorMessage } from "./kafka-errors.ts";
import { type LogCatalog, startLogCatalog } from "./log-catalog.ts";
import { StateView } from "./state-view.ts";
import { waitForTopicLeaders } from "./topic-leaders.ts";
import type { VerifyMode } from "./tree-verifier.ts";

export interface IngesterService {
  replicaId: string;
  ingester: Ingester | null;
  dedup: DedupStage | null;
  http: FastifyInstance;
  /** Address of the HTTP listener (/api/logs, /health, /metrics). */
  url: string;
  /** Stops intake, finishes the transactions in flight, leaves the groups. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Logs to watch instead of the configured ones (tests, bench). */
  logs?: WatchableLog[];
  /**
   * A group consumer stopped for good. main.ts exits non-zero so the supervisor restarts a clean process
   * (safe: progress is transactional). Default: log only.
   */
  onFatal?: (e: Error) => void;
}

/**
 * Wires the ingester process: topics and schemas (registered with their compatibility rules), the state view,
 * the log watchers (group member on the coordination topic), the dedup stage, and the HTTP API.
 */
export async function startIngesterService(
  config: Config,
  logger: Logger,
  opts: StartOptions = {},
): Promise<IngesterService> {
  const ic = config.ingester;
  const replicaId = ic.replica_id ?? `${hostname()}-${process.pid}`;
  const topics = topicNames(config.kafka);
  const health = new HealthState({ logger, service: "ingester" });
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.client_id, logger });

  const admin = kafka.admin();
  let entriesPartitions = 0;
  await admin.connect();
  try {
    if (config.kafka.create_topics) {
      const res = await ensureTopics(admin, [
        ...topicSpecs(config.kafka),
        {
          topic: ic.coordination_topic,
          partitions: ic.coordination_partitions,
          replicationFactor: config.kafka.replication_factor,
        },
      ]);
      if (res.created.length > 0) logger.info({ created: res.created }, "topics created");
      for (const mm of res.mismatched)
        logger.warn(mm, "topic partition count differs from the config (left as is)");
    }
    // Every later step (the state view's offsets, the dedup stage's and the watchers' metadata, the first
    // sends) may ask any broker about these topics: wait until each one knows them and their leaders.
    await waitForTopicLeaders(admin, {
      topics: [topics.entries, topics.certs, topics.state, ic.coordination_topic],
      logger,
      timeoutMs: 60_000,
      clientFor: (broker) =>
        createKafka({
          brokers: [broker],
          clientId: config.kafka.client_id,
          logger,
          // Few retries per look: the loop above retries, and must see each broker's answer soon.
          kafkaConfig: { retry: { retries: 1, initialRetryTime: 100 } },
        }),
    });
    const meta = await admin.fetchTopicMetadata({ topics: [topics.entries, topics.certs] });
    const counts = meta.topics.map((t) => t.partitions.length);
    entriesPartitions = counts[0];
    if (counts[0] !== counts[1]) {
      throw new Error(
        `${topics.entries} has ${counts[0]} partitions but ${topics.certs} has ${counts[1]}: the dedup stage needs them co-partitioned`,
      );
    }
    setKafkaConnected(true);
  } finally {
    await admin.disconnect();
  }

  const codec = new CertificateEntryCodec({
    registryUrl: config.kafka.schema_registry_url,
    clientId: config.kafka.client_id,
  });
  const stateCodec = new StateCodec(config.kafka.schema_registry_url, topics.state);
  // Replicas starting together race on a new subject (one registers it before setting its compatibility, the
  // other then sees a mismatch): a few attempts, spaced out, settle it.
  for (let attempt = 1; ; attempt++) {
    try {
      await codec.register(valueSubject(topics.entries));
      await codec.register(valueSubject(topics.certs));
      await stateCodec.register("BACKWARD");
      setSchemaRegistryConnected(true);
      break;
    } catch (e) {
      setSchemaRegistryConnected(false);
      if (attempt >= 6) throw new Error(`schema registration failed: ${errorMessage(e)}`, { cause: e });
      logger.warn({ attempt, err: errorMessage(e) }, "schema registration failed; retrying");
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  const entriesSubject = valueSubject(topics.entries);

  let stateView: StateView | null = null;
  let ingester: Ingester | null = null;
  let catalog: LogCatalog | null = null;
  if (ic.watchers_enabled) {
    stateView = new StateView(
      kafka,
      topics.state,
      stateCodec,
      logger,
      `${ic.group_id}-state-${replicaId}`,
      opts.onFatal,
    );
    await stateView.start();
    ingester = new Ingester({
      kafka,
      encoder: { encode: (e) => codec.encodeSync(e, entriesSubject) },
      stateCodec,
      stateView,
      logger,
      groupId: ic.group_id,
      coordinationTopic: ic.coordination_topic,
      sessionTimeoutMs: ic.session_timeout_ms,
      heartbeatIntervalMs: ic.heartbeat_interval_ms,
      onFatal: opts.onFatal,
      watcher: {
        entriesTopic: topics.entries,
        entriesPartitions,
        stateTopic: topics.state,
        replicaId,
        transactionalIdPrefix: ic.transactional_id_prefix,
        batchSize: ic.max_batch_entries,
        pollIntervalMs: config.ct_log.poll_interval_ms,
        startOverlapLeaves: config.ct_log.start_overlap_leaves,
        transactionTimeoutMs: ic.transaction_timeout_ms,
        retryDelayMs: config.ct_log.retry_initial_delay_ms,
        // One of VERIFY_MODES: the config's oneOf has checked it.
        verify: config.ct_log.verify as VerifyMode,
      },
    });
    const ing = ingester;
    if (opts.logs) ing.setLogs(opts.logs);
    else {
      catalog = await startLogCatalog(config, logger, (logs) => ing.setLogs(logs));
      ing.setLogs(catalog.logs);
    }
    await ingester.start();
  }

  let dedup: DedupStage | null = null;
  if (config.dedup.enabled) {
    dedup = new DedupStage({
      kafka,
      logger,
      groupId: ic.dedup_group_id,
      entriesTopic: topics.entries,
      certsTopic: topics.certs,
      ttlSecs: config.dedup.ttl_secs,
      capacity: config.dedup.capacity,
      transactionalIdPrefix: ic.dedup_transactional_id_prefix,
      transactionTimeoutMs: ic.transaction_timeout_ms,
      sessionTimeoutMs: ic.session_timeout_ms,
      heartbeatIntervalMs: ic.heartbeat_interval_ms,
      partitionsConsumedConcurrently: ic.dedup_partitions_concurrency,
      onFatal: opts.onFatal,
      isParsed: async (value) => (await codec.decode(value)).leaf !== null,
    });
    await dedup.start();
  }

  // Readiness: the group memberships are established (the replica is doing its share of the work).
  const readiness = setInterval(() => {
    const ingReady = ingester?.isReady() ?? true;
    const dedupReady = dedup?.isReady() ?? true;
    health.setReady(
      ingReady && dedupReady,
      ingReady ? (dedupReady ? "groups joined" : "dedup group rebalancing") : "ingester group rebalancing",
      {
        watching: ingester?.watching() ?? [],
        dedupPartitions: dedup?.stats().partitions ?? [],
      },
    );
    // Degraded: serving, but some owned log is stalled or failed in the last minute (/api/logs says why).
    const now = Date.now();
    const failing = (ingester?.report() ?? []).filter(
      (r) =>
        r.owned &&
        (r.phase === "backoff" ||
          r.stall != null ||
          (r.lastErrorAt !== null && now - r.lastErrorAt < 60_000)),
    );
    health.setDegraded(failing.length > 0, "log watchers failing", {
      logs: failing.map((r) => ({ log: r.log.name, error: r.lastError })),
    });
  }, 500);
  readiness.unref();

  const http = buildApi({
    ingester,
    dedup,
    health,
    replicaId,
    // The dedicated (possibly mTLS) metrics listener is initMetrics' (main.ts): while it is configured this
    // route answers 404, so /metrics is never also served in clear here.
    metrics: config.protocols.metrics,
  });
  const url = await http.listen({ host: config.host, port: ic.port });
  logger.info(
    { replicaId, url, logs: ingester?.report().length ?? 0, dedup: dedup !== null },
    "ingester started",
  );

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(readiness);
      health.setReady(false, "shutting down");
      // Intake stops first; each watcher and the dedup stage finish the transaction in flight.
      catalog?.stop();
      await Promise.allSettled([ingester?.stop(), dedup?.stop()]);
      await stateView?.stop();
      await http.close();
      logger.info({ replicaId }, "ingester stopped");
    })();
    return stopping;
  };
  return { replicaId, ingester, dedup, http, url, stop };
}
