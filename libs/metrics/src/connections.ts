// Connection gauges of seed 003 (redis_connected / netlink_connected become Kafka / schema registry).
// 1 connected, 0 not; set by the Kafka clients (libs/kafka) on connect / disconnect / failed request.
import { gauge } from "./registry.ts";

export const kafkaConnected = gauge({
  name: "certstream_kafka_connected",
  help: "1 when this process's Kafka clients are connected to the cluster, else 0",
});

export const schemaRegistryConnected = gauge({
  name: "certstream_schema_registry_connected",
  help: "1 when the last schema registry call succeeded, else 0",
});

kafkaConnected.set(0);
schemaRegistryConnected.set(0);

export function setKafkaConnected(up: boolean): void {
  kafkaConnected.set(up ? 1 : 0);
}

export function setSchemaRegistryConnected(up: boolean): void {
  schemaRegistryConnected.set(up ? 1 : 0);
}
