// Connection gauges of seed 003 (redis_connected / netlink_connected become Kafka / schema registry).
// 1 connected, 0 not; set by the Kafka clients (libs/kafka) on connect / disconnect / failed request.
import { failureKind } from "./failure-kind.ts";
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

/** What trackKafkaClient needs of a KafkaJS producer, consumer or admin client (their instrumentation events). */
export interface InstrumentedKafkaClient {
  events: { CONNECT: string; DISCONNECT: string; CRASH?: string; REQUEST_QUEUE_SIZE?: string };
  on(event: string, listener: (event: { payload?: unknown }) => void): unknown;
}

export const kafkaRequestQueue = gauge({
  name: "certstream_kafka_request_queue_size",
  help: "Requests waiting in a Kafka client's per-broker queue (the largest broker queue), by client: producer backpressure",
  labelNames: ["client"],
});

const kafkaClients = new Map<string, boolean>();

function publishKafka(): void {
  kafkaConnected.set(kafkaClients.size > 0 && [...kafkaClients.values()].every(Boolean) ? 1 : 0);
}

/**
 * Drives certstream_kafka_connected from a KafkaJS client's CONNECT / DISCONNECT / CRASH events: 1 when every
 * tracked client of the process is connected. `name` (producer, consumer, admin, dedup-producer...) labels
 * its request queue gauge; keep it to a fixed set.
 */
export function trackKafkaClient(name: string, client: InstrumentedKafkaClient): void {
  kafkaClients.set(name, false);
  publishKafka();
  client.on(client.events.CONNECT, () => {
    kafkaClients.set(name, true);
    publishKafka();
  });
  const down = () => {
    kafkaClients.set(name, false);
    publishKafka();
  };
  client.on(client.events.DISCONNECT, down);
  if (client.events.CRASH) client.on(client.events.CRASH, down);
  if (client.events.REQUEST_QUEUE_SIZE)
    client.on(client.events.REQUEST_QUEUE_SIZE, (e) => {
      const size = (e.payload as { queueSize?: number } | undefined)?.queueSize;
      if (typeof size === "number") kafkaRequestQueue.set({ client: name }, size);
    });
}

/**
 * Wraps a schema registry call: success sets certstream_schema_registry_connected to 1, a network or timeout
 * failure to 0 (a 4xx such as "subject not found" says the registry is up). Rethrows.
 */
export async function trackSchemaRegistryCall<T>(call: Promise<T>): Promise<T> {
  try {
    const out = await call;
    schemaRegistryConnected.set(1);
    return out;
  } catch (err) {
    const kind = failureKind(err);
    if (kind === "network" || kind === "timeout") schemaRegistryConnected.set(0);
    else schemaRegistryConnected.set(1);
    throw err;
  }
}
