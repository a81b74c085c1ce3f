/**
 * The streamer's readiness from its Kafka source (ready while Kafka is reachable and the live reader holds
 * every partition of the topic), and the consumer lag per partition that the periodic high-watermark read
 * yields on the way. Transitions go to the process's HealthState, which logs them with their reason.
 */
import type { Logger } from "@certstream/log";
import { type HealthState, healthStatus, setConsumerLag } from "@certstream/metrics";
import type { CertsSource } from "./certs-source.ts";
import type { Position } from "./cursor.ts";
import type { StreamerMetrics } from "./metrics.ts";

export interface Readiness {
  ready: boolean;
  reason: string;
}

export interface StreamerReadinessDeps {
  health: HealthState;
  source: CertsSource | null;
  topic: string;
  metrics: StreamerMetrics;
  log: Logger;
  draining(): boolean;
  /** What the live feed has delivered, per partition (the lag is measured from it). */
  delivered(): Position;
}

export class StreamerReadiness {
  /** Last periodic high-watermark read succeeded (readiness needs Kafka reachable, not only joined). */
  kafkaReachable = true;
  readonly lag = new Map<number, number>();
  private readonly deps: StreamerReadinessDeps;

  constructor(deps: StreamerReadinessDeps) {
    this.deps = deps;
  }

  /** Readiness now, with the reason (reported by /health/ready and logged on transitions). */
  private evaluate(): Readiness {
    const { source, health } = this.deps;
    if (this.deps.draining()) return { ready: false, reason: "shutting down" };
    if (!source) return { ready: false, reason: "no kafka source" };
    if (!this.kafkaReachable) return { ready: false, reason: "kafka unreachable" };
    const { connected, assigned, partitions } = source.state();
    if (!connected)
      return { ready: false, reason: health.ready ? "kafka connection lost" : "kafka not connected" };
    if (partitions === 0) return { ready: false, reason: "topic partitions not known yet" };
    if (assigned < partitions)
      return { ready: false, reason: health.ready ? "partitions lost" : "waiting for partition assignment" };
    return { ready: true, reason: "all partitions assigned" };
  }

  /**
   * Sets the HealthState from the source, which logs every transition with its reason and the per-partition
   * state. Called on source events, on the lag poll, on probes and on scrapes, so the gauge is never stale.
   */
  refresh(): Readiness {
    const r = this.evaluate();
    const { health, source } = this.deps;
    if (r.ready !== health.ready) {
      const state = source?.state();
      const assigned = source?.assignedPartitions() ?? [];
      const all = Array.from({ length: state?.partitions ?? 0 }, (_, p) => p);
      health.setReady(r.ready, r.reason, {
        topic: this.deps.topic,
        connected: state?.connected ?? false,
        kafka_reachable: this.kafkaReachable,
        partitions: state?.partitions ?? 0,
        assigned_partitions: assigned,
        missing_partitions: all.filter((p) => !assigned.includes(p)),
        lag: Object.fromEntries(this.lag),
      });
    }
    return r;
  }

  /**
   * The scraped certstream_health_status is this server's state now, not as of the last poll. The gauge is one
   * per process and service: republished here so that, with several servers in one process (tests), a scrape
   * reports the server scraped.
   */
  publish(): void {
    this.refresh();
    const status = this.deps.health.status;
    healthStatus.set({ service: "streamer" }, status === "healthy" ? 1 : status === "degraded" ? 0.5 : 0);
  }

  /** Reads the high watermarks: lag per partition, and whether Kafka is reachable at all. */
  async poll(): Promise<void> {
    const { source, metrics, log } = this.deps;
    if (!source) return;
    this.refresh();
    try {
      const high = await source.highWatermarks();
      this.kafkaReachable = true;
      this.refresh();
      const delivered = this.deps.delivered();
      for (const [p, h] of high) {
        const lag = Math.max(0, h - (delivered.get(p) ?? h));
        this.lag.set(p, lag);
        setConsumerLag("streamer", this.deps.topic, p, lag);
      }
    } catch (err) {
      this.kafkaReachable = false;
      metrics.errors.inc({ kind: "kafka" });
      log.warn({ err }, "could not read high watermarks; lag not updated");
      this.refresh();
    }
  }

  lagTotal(): number {
    let total = 0;
    for (const v of this.lag.values()) total += v;
    return total;
  }
}
