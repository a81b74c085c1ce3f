// A service without Kafka or registry clients (archive-search) must not export connection gauges stuck at 0:
// Prometheus would fire CertstreamKafkaDisconnected for it for ever.
import { describe, expect, it } from "vitest";
import { initMetrics, registry } from "../src/index.ts";

describe("initMetrics({ usesKafka: false })", () => {
  it("drops certstream_kafka_connected and certstream_schema_registry_connected, keeps the rest", async () => {
    expect(await registry.metrics()).toMatch(/^certstream_kafka_connected 0$/m);
    initMetrics({ service: "no-kafka-test", usesKafka: false, metricsConfig: null });
    const text = await registry.metrics();
    expect(text).not.toContain("certstream_kafka_connected");
    expect(text).not.toContain("certstream_schema_registry_connected");
    expect(text).toContain('certstream_build_info{version="dev",service="no-kafka-test"');
  });
});
