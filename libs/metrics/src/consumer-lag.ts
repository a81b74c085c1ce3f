// Consumer lag (DESIGN: a broadcast `Lagged` error becomes consumer lag), one gauge shared by every consumer
// so a single dashboard panel and alert cover the delta sink, the dedup stage and the streamers.
// lag = high watermark - next offset this process will read, per group/topic/partition. Consumers without
// a group (the streamer reads every partition itself) use their service name as `group`.
import { gauge } from "./registry.ts";

export const consumerLag = gauge({
  name: "certstream_kafka_consumer_lag_messages",
  help: "High watermark minus the next offset to read, per consumer group, topic and partition",
  labelNames: ["group", "topic", "partition"],
});

export function setConsumerLag(group: string, topic: string, partition: number, lag: number): void {
  consumerLag.set({ group, topic, partition: String(partition) }, Math.max(0, lag));
}

/** Drop a partition's series when it is revoked, so a stale lag does not alert forever. */
export function clearConsumerLag(group: string, topic: string, partition: number): void {
  consumerLag.remove({ group, topic, partition: String(partition) });
}
