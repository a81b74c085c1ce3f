import type { Admin } from "kafkajs";

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Next offset the group will read; null when the group has committed nothing for this partition. */
  committed: number | null;
  /** Log end offset (high watermark). */
  high: number;
  /** high − committed; without a commit, every retained record (high − low). */
  lag: number;
}

/**
 * Consumer lag of a group over some topics, per partition, from committed offsets and high watermarks.
 * For the consumer-lag gauges: the delta sink seeks from its table, so its committed offsets are a
 * (slightly trailing) hint, which is what lag tooling reads as well.
 */
export async function consumerLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const result: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const commits = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const end of ends) {
      const high = Number(end.high);
      const commit = commits.find((p) => p.partition === end.partition);
      const offset = commit && Number(commit.offset) >= 0 ? Number(commit.offset) : null;
      const lag = offset === null ? high - Number(end.low) : Math.max(0, high - offset);
      result.push({ topic, partition: end.partition, committed: offset, high, lag });
    }
  }
  return result;
}

/** Sum of the per-partition lags. */
export function totalLag(lags: PartitionLag[]): number {
  return lags.reduce((sum, l) => sum + l.lag, 0);
}
