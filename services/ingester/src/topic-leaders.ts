import type { Logger } from "@certstream/log";
import type { Admin, Kafka } from "kafkajs";
import { errorMessage } from "./kafka-errors.ts";

export interface TopicLeadersOptions {
  /** Client for one broker address ("host:port"): its metadata requests go to that broker only. */
  clientFor: (broker: string) => Kafka;
  topics: string[];
  logger: Logger;
  /** Give up (with an error naming what is still missing) after this long. */
  timeoutMs?: number;
}

/**
 * Waits until every broker of the cluster knows every partition of `topics` and its leader.
 *
 * CreateTopics (even with waitForLeaders) returns once the controller and one broker have the new topics; the
 * other brokers learn of them a moment later. Until then a metadata or offsets request that kafkajs happens to
 * send to one of them fails with "This server does not host this topic-partition", which made the ingester
 * exit at its first start on a new multi-node cluster. Each broker is asked in turn, through a client that
 * knows only that broker, so a single up-to-date broker cannot hide a stale one.
 */
export async function waitForTopicLeaders(admin: Admin, o: TopicLeadersOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  for (let attempt = 1; ; attempt++) {
    missing = [];
    try {
      const { brokers } = await admin.describeCluster();
      for (const b of brokers) {
        for (const m of await missingOn(o.clientFor(`${b.host}:${b.port}`), o.topics))
          missing.push(`broker ${b.nodeId}: ${m}`);
      }
    } catch (e) {
      missing.push(errorMessage(e));
    }
    if (missing.length === 0) return;
    if (Date.now() >= deadline)
      throw new Error(
        `topic leaders not known on every broker after ${timeoutMs} ms: ${missing.slice(0, 10).join("; ")}`,
      );
    if (attempt === 1 || attempt % 10 === 0)
      o.logger.info(
        { attempt, missing: missing.slice(0, 10) },
        "waiting for the topics' leaders on every broker",
      );
    await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
  }
}

/** What `kafka`'s only broker does not know yet: unknown topics and partitions without a leader. */
async function missingOn(kafka: Kafka, topics: string[]): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics });
    const out: string[] = [];
    for (const topic of topics) {
      const t = meta.topics.find((x) => x.name === topic);
      if (!t || t.partitions.length === 0) out.push(`${topic} unknown`);
      else
        for (const p of t.partitions)
          if (p.leader < 0 || p.partitionErrorCode !== 0) out.push(`${topic}/${p.partitionId} has no leader`);
    }
    return out;
  } catch (e) {
    return [errorMessage(e)];
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
