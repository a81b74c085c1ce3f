import type { Admin } from "kafkajs";

/** The four topics of the data path (DESIGN.md "Topics"). */
export interface TopicNames {
  entries: string;
  certs: string;
  backfill: string;
  state: string;
}

export const DEFAULT_TOPICS: Readonly<TopicNames> = Object.freeze({
  entries: "certstream.entries.v1",
  certs: "certstream.certs.v1",
  backfill: "certstream.backfill.v1",
  state: "certstream.ingester.state",
});

/** The subset of the `kafka` config section that topic creation needs (structurally `Config["kafka"]`). */
export interface KafkaTopicsConfig {
  topics?: Partial<TopicNames>;
  partitions: number;
  replication_factor: number;
  /** Retention of the certs topic: how far back streamer clients can resume. */
  certs_retention_ms?: number;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs, e.g. `{ "cleanup.policy": "compact" }`. */
  configs?: Record<string, string>;
}

/** Configured topic names, defaults for the missing ones. */
export function topicNames(config?: { topics?: Partial<TopicNames> }): TopicNames {
  return { ...DEFAULT_TOPICS, ...config?.topics };
}

/**
 * The `min.insync.replicas` for topics with `replicationFactor` replicas: RF-1 capped at 2 (RF 3 -> 2, so an
 * acks=all write survives one broker down and is on two brokers when acknowledged; RF 2 -> 1), none for RF 1
 * (the broker default applies).
 */
export function minInsyncReplicas(replicationFactor: number): number | undefined {
  return replicationFactor > 1 ? Math.min(replicationFactor - 1, 2) : undefined;
}

/**
 * What the services create on start. entries, certs and backfill share a partition count: entries and certs
 * must be co-partitioned by key for the dedup stage. The state topic is compacted (latest position per log)
 * and has one partition: it is small and read whole on start. All four get `kafka.replication_factor`
 * replicas and, from RF 2 on, `min.insync.replicas` (minInsyncReplicas): the producers write with acks=all
 * (kafkajs' default, and the only setting its idempotent/transactional producers accept).
 */
export function topicSpecs(config: KafkaTopicsConfig): TopicSpec[] {
  const names = topicNames(config);
  const data = { partitions: config.partitions, replicationFactor: config.replication_factor };
  const minIsr = minInsyncReplicas(config.replication_factor);
  const durability: Record<string, string> =
    minIsr === undefined ? {} : { "min.insync.replicas": String(minIsr) };
  const certsConfigs: Record<string, string> = { ...durability };
  if (config.certs_retention_ms !== undefined)
    certsConfigs["retention.ms"] = String(config.certs_retention_ms);
  return [
    { topic: names.entries, ...data, configs: { ...durability } },
    { topic: names.certs, ...data, configs: certsConfigs },
    { topic: names.backfill, ...data, configs: { ...durability } },
    {
      topic: names.state,
      partitions: 1,
      replicationFactor: config.replication_factor,
      configs: {
        "cleanup.policy": "compact",
        "min.compaction.lag.ms": "0",
        "segment.ms": "3600000",
        ...durability,
      },
    },
  ];
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
  /** Existing topics whose partition count differs from the spec (never changed automatically). */
  mismatched: { topic: string; partitions: number; wanted: number }[];
}

/**
 * Creates the topics that do not exist yet and waits for their leaders; existing topics are left as they are
 * (a partition count that differs from the spec is reported, not "fixed": repartitioning moves keys).
 * Safe to call concurrently from several replicas: TOPIC_ALREADY_EXISTS counts as existing.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<EnsureTopicsResult> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !present.has(s.topic));
  const created: string[] = [];
  if (missing.length > 0) {
    // kafkajs' own wait (waitForLeaders) gives up at the first UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker
    // answers until it has applied the controller's record of the new topic: a service starting on a new
    // cluster then exited with "This server does not host this topic-partition" (seen in CI at load 20).
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    created.push(...missing.map((s) => s.topic));
    await waitForLeaders(admin, created);
  }
  const existingSpecs = specs.filter((s) => present.has(s.topic));
  const mismatched: EnsureTopicsResult["mismatched"] = [];
  if (existingSpecs.length > 0) {
    const { topics } = await admin.fetchTopicMetadata({ topics: existingSpecs.map((s) => s.topic) });
    for (const spec of existingSpecs) {
      const meta = topics.find((t) => t.name === spec.topic);
      if (meta && meta.partitions.length !== spec.partitions) {
        mismatched.push({ topic: spec.topic, partitions: meta.partitions.length, wanted: spec.partitions });
      }
    }
  }
  return { created, existing: existingSpecs.map((s) => s.topic), mismatched };
}

/** Polls metadata until every partition of `topics` has a leader; retriable answers are waited out. */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    let waiting: string;
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      const leaderless = meta.topics.flatMap((t) =>
        t.partitions.length === 0
          ? [t.name]
          : t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}/${p.partitionId}`),
      );
      if (leaderless.length === 0 && meta.topics.length === topics.length) return;
      waiting = `no leader yet for ${leaderless.join(", ") || "some topics"}`;
    } catch (e) {
      if (!(e as { retriable?: boolean }).retriable) throw e;
      waiting = (e as Error).message;
    }
    if (Date.now() >= deadline)
      throw new Error(`created topics ${topics.join(", ")} but after ${timeoutMs} ms: ${waiting}`);
    await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
  }
}
