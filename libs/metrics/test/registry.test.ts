import { describe, expect, it } from "vitest";
import { expectMetrics } from "../../../test/metrics-expect.ts";
import {
  clearConsumerLag,
  counter,
  FLUSH_BUCKETS,
  gauge,
  histogram,
  initMetrics,
  REQUEST_BUCKETS,
  recordConfigReload,
  registry,
  renderMetrics,
  setConsumerLag,
  setKafkaConnected,
  setSchemaRegistryConnected,
  WINDOW_BUCKETS,
} from "../src/index.ts";

describe("process registry", () => {
  it("exposes build info, process metrics and the shared gauges", async () => {
    initMetrics({ service: "unit", version: "1.2.3", node: "node-a" });
    setKafkaConnected(true);
    setSchemaRegistryConnected(false);
    recordConfigReload(true);
    setConsumerLag("certstream-delta-sink", "certstream.entries.v1", 3, 42);
    setConsumerLag("certstream-delta-sink", "certstream.entries.v1", 4, -1);
    clearConsumerLag("certstream-delta-sink", "certstream.entries.v1", 4);
    const { contentType, body } = await renderMetrics();
    expect(contentType).toContain("text/plain");
    expect(body).toContain('certstream_build_info{version="1.2.3",service="unit",node="node-a"} 1');
    expect(body).toContain("certstream_kafka_connected 1");
    expect(body).toContain("certstream_schema_registry_connected 0");
    expect(body).toContain(
      'certstream_kafka_consumer_lag_messages{group="certstream-delta-sink",topic="certstream.entries.v1",partition="3"} 42',
    );
    expect(body).not.toContain('partition="4"');
    expectMetrics(body, [
      {
        name: "certstream_kafka_consumer_lag_messages",
        type: "gauge",
        labels: ["group", "topic", "partition"],
      },
      { name: "certstream_build_info", type: "gauge", labels: ["version", "service", "node"] },
      { name: "certstream_kafka_connected", type: "gauge", labels: [] },
      { name: "certstream_schema_registry_connected", type: "gauge", labels: [] },
      { name: "certstream_config_reloads_total", type: "counter", labels: ["result"] },
      { name: "certstream_health_status", type: "gauge", hasSamples: false },
      { name: "certstream_panics_total", type: "counter", labels: ["kind"], hasSamples: false },
      { name: "process_resident_memory_bytes", type: "gauge" },
      { name: "process_cpu_seconds_total", type: "counter" },
      { name: "nodejs_eventloop_lag_seconds", type: "gauge" },
    ]);
  });

  it("re-initialising replaces build info instead of adding a second series", async () => {
    initMetrics({ service: "unit", version: "2", node: "n" });
    const body = await registry.getSingleMetricAsString("certstream_build_info");
    expect(body.match(/^certstream_build_info\{/gm)).toHaveLength(1);
  });

  it("factories bind to the registry, return the same metric on re-declaration, enforce names", async () => {
    const c = counter({ name: "certstream_test_things_total", help: "h", labelNames: ["kind"] as const });
    c.inc({ kind: "parse" }, 2);
    expect(counter({ name: "certstream_test_things_total", help: "h", labelNames: ["kind"] as const })).toBe(
      c,
    );
    expect(() => gauge({ name: "certstream_test_things_total", help: "h" })).toThrow(/another type/);
    expect(() => counter({ name: "certstream_test_things", help: "h" })).toThrow(/_total/);
    expect(() => gauge({ name: "other_thing", help: "h" })).toThrow(/certstream_/);

    let depth = 7;
    gauge({
      name: "certstream_test_queue_depth",
      help: "h",
      collect() {
        this.set(depth);
      },
    });
    const h = histogram({
      name: "certstream_test_flush_duration_seconds",
      help: "h",
      buckets: FLUSH_BUCKETS,
    });
    h.observe(0.2);
    const body = (await renderMetrics()).body;
    expect(body).toContain('certstream_test_things_total{kind="parse"} 2');
    expect(body).toContain("certstream_test_queue_depth 7");
    depth = 9;
    expect((await renderMetrics()).body).toContain("certstream_test_queue_depth 9");
    expect(body).toContain('certstream_test_flush_duration_seconds_bucket{le="0.25"} 1');
  });

  it("bucket sets cover what they time", () => {
    expect(REQUEST_BUCKETS[0]).toBe(0.001);
    expect(REQUEST_BUCKETS.at(-1)).toBe(10);
    expect(FLUSH_BUCKETS.at(-1)).toBeGreaterThanOrEqual(60);
    expect(WINDOW_BUCKETS.at(-1)).toBeGreaterThanOrEqual(3600);
    for (const b of [REQUEST_BUCKETS, FLUSH_BUCKETS, WINDOW_BUCKETS])
      expect([...b].sort((x, y) => x - y)).toEqual([...b]);
  });
});
