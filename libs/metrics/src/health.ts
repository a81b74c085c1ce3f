// Health of one service: liveness (the process can make progress), readiness (it can do its job now)
// and a degraded flag (working, but something is off). Exposed as certstream_health_status{service}
// (1 healthy, 0.5 degraded, 0 down: seed 003) and logged on every transition with the reason and
// whatever per-log / per-partition detail the caller passes (seed 001: explain probe failures in logs).
import type { MetricsLogger } from "./logger.ts";
import { gauge, metricsService } from "./registry.ts";

export const healthStatus = gauge({
  name: "certstream_health_status",
  help: "Service health: 1 healthy, 0.5 degraded, 0 down (not live or not ready)",
  labelNames: ["service"],
});

export type HealthLevel = "healthy" | "degraded" | "down";

export interface HealthSnapshot {
  status: HealthLevel;
  live: boolean;
  ready: boolean;
  degraded: boolean;
  /** Reason of the last transition of each flag. */
  reasons: { live: string; ready: string; degraded: string };
  /** ISO time of the last change of `status`. */
  since: string;
}

export type HealthListener = (snapshot: HealthSnapshot) => void;

/** HealthStates created in this process (registerMetricsRoute bridges probes only when there is none). */
let healthStates = 0;

export function healthStateCount(): number {
  return healthStates;
}

export class HealthState {
  readonly #logger: MetricsLogger;
  readonly #service: string;
  #live = true;
  #ready = false;
  #degraded = false;
  #reasons = { live: "started", ready: "starting", degraded: "" };
  #since = new Date().toISOString();
  readonly #listeners: HealthListener[] = [];

  /** A new state is live and not ready ("starting"). `service` defaults to the one given to initMetrics. */
  constructor(opts: { logger: MetricsLogger; service?: string }) {
    this.#logger = opts.logger;
    this.#service = opts.service ?? metricsService();
    healthStates++;
    this.#publish();
  }

  get live(): boolean {
    return this.#live;
  }
  get ready(): boolean {
    return this.#ready;
  }
  get degraded(): boolean {
    return this.#degraded;
  }
  get status(): HealthLevel {
    if (!this.#live || !this.#ready) return "down";
    return this.#degraded ? "degraded" : "healthy";
  }

  /** Readiness (e.g. Kafka reachable and partitions assigned). `detail` is logged with the transition. */
  setReady(ready: boolean, reason: string, detail?: Record<string, unknown>): void {
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.#reasons.ready = reason;
    this.#transition(ready ? "ready" : "not ready", reason, detail);
  }

  /** Liveness: false only when the process is wedged and should be restarted. */
  setLive(live: boolean, reason: string, detail?: Record<string, unknown>): void {
    if (live === this.#live) return;
    this.#live = live;
    this.#reasons.live = reason;
    this.#transition(live ? "live" : "not live", reason, detail);
  }

  /** Degraded: serving, but e.g. some logs are failing or a sink is retrying. */
  setDegraded(degraded: boolean, reason: string, detail?: Record<string, unknown>): void {
    if (degraded === this.#degraded) return;
    this.#degraded = degraded;
    this.#reasons.degraded = degraded ? reason : "";
    this.#transition(degraded ? "degraded" : "recovered", reason, detail);
  }

  onChange(listener: HealthListener): void {
    this.#listeners.push(listener);
  }

  snapshot(): HealthSnapshot {
    return {
      status: this.status,
      live: this.#live,
      ready: this.#ready,
      degraded: this.#degraded,
      reasons: { ...this.#reasons },
      since: this.#since,
    };
  }

  #transition(what: string, reason: string, detail: Record<string, unknown> | undefined): void {
    this.#since = new Date().toISOString();
    this.#publish();
    const fields = { service: this.#service, health: what, status: this.status, reason, ...detail };
    // Going down is worth a warning in log aggregation; coming back is information.
    if (this.status === "down" || what === "degraded")
      this.#logger.warn(fields, `health: ${what}: ${reason}`);
    else this.#logger.info(fields, `health: ${what}: ${reason}`);
    const snap = this.snapshot();
    for (const l of this.#listeners) l(snap);
  }

  #publish(): void {
    const value = this.status === "healthy" ? 1 : this.status === "degraded" ? 0.5 : 0;
    healthStatus.set({ service: this.#service }, value);
  }
}
