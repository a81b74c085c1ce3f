/**
 * Kafka plumbing shared by every service: a pino-logging kafkajs client, topic names and creation, the
 * registry-backed CertificateEntry codec, the record key, and consumer lag for metrics.
 */
export { checkedSend, keyPartitioner, UnacknowledgedSendError } from "./checked-send.ts";
export { type CreateKafkaOptions, createKafka, kafkaLogCreator } from "./client.ts";
export { CertificateEntryCodec, type CertificateEntryCodecOptions, valueSubject } from "./codec.ts";
export {
  entryHeaders,
  HEADER_ENTRIES_OFFSET,
  HEADER_LEAF_PARSED,
  HEADER_LOG_ID,
  HEADER_LOG_INDEX,
  HEADER_PARSE_ERROR,
  headerString,
} from "./entry-headers.ts";
export { applyKafkajsAbortedOrderFix } from "./kafkajs-patches/aborted-order.ts";
export { applyKafkajsFastEncoding, crc32c, kafkajsOriginals } from "./kafkajs-patches/fast-encoding.ts";
export { applyKafkajsIdleTimerFix } from "./kafkajs-patches/idle-timer.ts";
export { barrierKey, entryKey, stateKey } from "./key.ts";
export { consumerLag, type PartitionLag, totalLag } from "./lag.ts";
export { type Compatibility, SchemaRegistry, SchemaRegistryError } from "./schema-registry.ts";
export { StateCodec } from "./state-codec.ts";
export {
  DEFAULT_TOPICS,
  type EnsureTopicsResult,
  ensureTopics,
  type KafkaTopicsConfig,
  type TopicNames,
  type TopicSpec,
  topicNames,
  topicSpecs,
} from "./topics.ts";
export {
  TRANSACTIONAL_RETRY,
  type TransactionalProducerOptions,
  transactionalProducer,
} from "./transactional-producer.ts";
