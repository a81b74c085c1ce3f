// certstream_kafka_connected and certstream_schema_registry_connected without wiring in every service:
// initMetrics() wraps the factory methods of KafkaJS's client class and the network calls of the Confluent
// schema registry client once per process, so every producer/consumer/admin and every registry request the
// process makes drives the gauges (connections.ts). Both libraries are CommonJS: the ESM `import` in the
// services and the `require` here share one module instance, hence one prototype.
import { createRequire } from "node:module";
import { type InstrumentedKafkaClient, trackKafkaClient, trackSchemaRegistryCall } from "./connections.ts";

const require = createRequire(import.meta.url);
const PATCHED = Symbol.for("certstream.metrics.instrumented");

type Method = (...args: unknown[]) => unknown;
type Patchable = Record<string | symbol, unknown>;

function loadPrototype(moduleName: string, exportName: string): Patchable | undefined {
  try {
    const mod = require(moduleName) as Record<string, { prototype?: Patchable } | undefined>;
    return (
      mod[exportName] ??
      (mod as { default?: Record<string, { prototype?: Patchable }> }).default?.[exportName]
    )?.prototype;
  } catch {
    return undefined; // the library is not installed in this process: nothing to instrument
  }
}

/** Registry client methods that go to the network (schema lookups by id are cached behind getSchemaOriginRequest). */
const REGISTRY_CALLS = [
  "register",
  "getRegistryId",
  "getRegistryIdBySchema",
  "getLatestSchemaId",
  "getSchemaOriginRequest",
];

/** Idempotent. Returns which libraries were instrumented. */
export function instrumentClientLibraries(): { kafkajs: boolean; schemaRegistry: boolean } {
  const kafka = loadPrototype("kafkajs", "Kafka");
  if (kafka && !kafka[PATCHED]) {
    kafka[PATCHED] = true;
    for (const kind of ["producer", "consumer", "admin"] as const) {
      const create = kafka[kind] as Method;
      kafka[kind] = function (this: unknown, ...args: unknown[]) {
        const client = create.apply(this, args) as InstrumentedKafkaClient;
        trackKafkaClient(kind, client);
        return client;
      };
    }
  }
  const registry = loadPrototype("@kafkajs/confluent-schema-registry", "SchemaRegistry");
  if (registry && !registry[PATCHED]) {
    registry[PATCHED] = true;
    for (const name of REGISTRY_CALLS) {
      const call = registry[name];
      if (typeof call !== "function") continue;
      registry[name] = function (this: unknown, ...args: unknown[]) {
        return trackSchemaRegistryCall(Promise.resolve((call as Method).apply(this, args)));
      };
    }
  }
  return { kafkajs: Boolean(kafka), schemaRegistry: Boolean(registry) };
}
