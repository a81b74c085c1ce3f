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
  events: {
    CONNECT: string;
    DISCONNECT: string;
    REQUEST?: string;
    REQUEST_TIMEOUT?: string;
    REQUEST_QUEUE_SIZE?: string;
    CRASH?: string;
    GROUP_JOIN?: string;
  };
  on(event: string, listener: (event: { payload?: unknown }) => void): unknown;
}

export const kafkaRequestQueue = gauge({
  name: "certstream_kafka_request_queue_size",
  help: "Requests waiting in a Kafka client's per-broker queue (the largest broker queue), by client: producer backpressure",
  labelNames: ["client"],
});

/** Open clients of this process and whether each is currently reaching the cluster. */
const kafkaClients = new Map<object, boolean>();

function publishKafka(): void {
  kafkaConnected.set(kafkaClients.size > 0 && [...kafkaClients.values()].every(Boolean) ? 1 : 0);
}

function mark(key: object, up: boolean): void {
  if (kafkaClients.get(key) === up) return;
  kafkaClients.set(key, up);
  publishKafka();
}

/**
 * Drives certstream_kafka_connected from a KafkaJS client's instrumentation events: CONNECT, a successful
 * request or a group join mark it up; a request timeout or a consumer crash mark it down; DISCONNECT (a
 * deliberate close) forgets it. The gauge is 1 while at least one client is open and every open client is up.
 * `name` (producer, consumer, admin) labels its request-queue gauge: keep it to a fixed set.
 */
export function trackKafkaClient(name: string, client: InstrumentedKafkaClient): void {
  const key = {};
  const ev = client.events;
  client.on(ev.CONNECT, () => mark(key, true));
  client.on(ev.DISCONNECT, () => {
    kafkaClients.delete(key);
    publishKafka();
  });
  if (ev.REQUEST) client.on(ev.REQUEST, () => mark(key, true));
  if (ev.GROUP_JOIN) client.on(ev.GROUP_JOIN, () => mark(key, true));
  if (ev.REQUEST_TIMEOUT) client.on(ev.REQUEST_TIMEOUT, () => mark(key, false));
  if (ev.CRASH) client.on(ev.CRASH, () => mark(key, false));
  if (ev.REQUEST_QUEUE_SIZE)
    client.on(ev.REQUEST_QUEUE_SIZE, (e) => {
      const size = (e.payload as { queueSize?: number } | undefined)?.queueSize;
      if (typeof size === "number") kafkaRequestQueue.set({ client: name }, size);
    });
}

/** The factory methods of a KafkaJS `Kafka` instance, structurally. */
export interface KafkaFactory {
  producer(...args: never[]): InstrumentedKafkaClient;
  consumer(...args: never[]): InstrumentedKafkaClient;
  admin(...args: never[]): InstrumentedKafkaClient;
}

/**
 * Makes every producer, consumer and admin created from `kafka` tracked by trackKafkaClient (libs/kafka's
 * createKafka does this, so services get certstream_kafka_connected without wiring). Returns `kafka`.
 */
export function instrumentKafka<K extends KafkaFactory>(kafka: K): K {
  for (const kind of ["producer", "consumer", "admin"] as const) {
    const create = kafka[kind].bind(kafka) as (...args: unknown[]) => InstrumentedKafkaClient;
    (kafka as Record<string, unknown>)[kind] = (...args: unknown[]) => {
      const client = create(...args);
      trackKafkaClient(kind, client);
      return client;
    };
  }
  return kafka;
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
