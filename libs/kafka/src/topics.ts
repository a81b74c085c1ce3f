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
 * What the services create on start. entries, certs and backfill share a partition count: entries and certs
 * must be co-partitioned by key for the dedup stage. The state topic is compacted (latest position per log)
 * and has one partition: it is small and read whole on start.
 */
export function topicSpecs(config: KafkaTopicsConfig): TopicSpec[] {
  const names = topicNames(config);
  const data = { partitions: config.partitions, replicationFactor: config.replication_factor };
  const certsConfigs: Record<string, string> = {};
  if (config.certs_retention_ms !== undefined)
    certsConfigs["retention.ms"] = String(config.certs_retention_ms);
  return [
    { topic: names.entries, ...data },
    { topic: names.certs, ...data, configs: certsConfigs },
    { topic: names.backfill, ...data },
    {
      topic: names.state,
      partitions: 1,
      replicationFactor: config.replication_factor,
      configs: { "cleanup.policy": "compact", "min.compaction.lag.ms": "0", "segment.ms": "3600000" },
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
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    created.push(...missing.map((s) => s.topic));
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
