/**
 * The faults of the soak, on their schedules: a broker killed (kill -9) every `brokerEveryMs`, rotating
 * through the leader of an `entries` partition, the transaction coordinator of an ingester log and the group
 * coordinator of the delta sink, restarted 10–20 s later; the ingester and the sink each killed (kill -9) at
 * random moments and restarted; 5xx bursts on the stand-in logs on top of their steady 429s, slow and
 * truncated responses. Every fault is recorded with its start and end, for the lag-recovery check.
 */
import type { StandInServer } from "../../test/ct-standin/server.ts";
import type { KafkaCluster } from "../../test/kafka-cluster.ts";
import type { SupervisedService } from "./services.ts";

export interface FaultRecord {
  kind: string;
  target: string;
  startMs: number;
  endMs: number;
}

export interface ChaosOptions {
  cluster: KafkaCluster;
  server: StandInServer;
  ingester: SupervisedService;
  sink: SupervisedService;
  entriesTopic: string;
  /** A transactional.id of an ingester log watcher. */
  ingesterTransactionalId: string;
  sinkGroup: string;
  brokerEveryMs: number;
  random: () => number;
  log: (msg: string) => void;
  /** Called when a fault has ended (the victim restarted). */
  onFaultEnd: (f: FaultRecord) => void;
}

const STEADY_FAULTS = {
  rateLimited: 0.02,
  retryAfterSecs: 1,
  slowMs: 1500,
  slow: 0.02,
  truncated: 0.02,
};
const BURST_MS = 10_000;
const BURST_EVERY_MS = 90_000;

/** The steady faults every stand-in log injects from the start (seeded per log). */
export function steadyFaults(server: StandInServer, seed: number): void {
  let k = 0;
  for (const l of server.logs.values()) l.faults.set({ seed: seed + k++, ...STEADY_FAULTS });
}

/** Sleeps `ms` unless aborted first; resolves false when aborted. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const between = (random: () => number, lo: number, hi: number) => lo + random() * (hi - lo);

export class Chaos {
  readonly faults: FaultRecord[] = [];
  readonly #o: ChaosOptions;
  readonly #abort = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(o: ChaosOptions) {
    this.#o = o;
  }

  start(): void {
    const s = this.#abort.signal;
    this.#loops = [
      this.#brokerLoop(s),
      this.#serviceLoop(this.#o.ingester, s),
      this.#serviceLoop(this.#o.sink, s),
      this.#burstLoop(s),
    ];
  }

  /** Stops scheduling; a fault under way finishes (its victim is restarted) before this resolves. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }

  async #brokerLoop(signal: AbortSignal): Promise<void> {
    const kinds = ["entries leader", "transaction coordinator", "sink group coordinator"] as const;
    // The first kill at half the period, so a short run sees one too.
    let wait = this.#o.brokerEveryMs / 2;
    for (let i = 0; await pause(wait, signal); i++) {
      const t0 = Date.now();
      const kind = kinds[i % kinds.length];
      try {
        const victim = await this.#brokerFor(kind);
        const down = Math.round(between(this.#o.random, 10_000, 20_000));
        this.#o.log(`fault: kill -9 broker ${victim} (${kind}), restart in ${down} ms`);
        const startMs = Date.now();
        await this.#o.cluster.kill(victim);
        await new Promise((r) => setTimeout(r, down));
        await this.#o.cluster.restart(victim);
        this.#record({ kind: `broker: ${kind}`, target: `node ${victim}`, startMs, endMs: Date.now() });
      } catch (err) {
        this.#o.log(`fault: broker kill (${kind}) failed: ${String(err)}`);
      }
      wait = Math.max(0, this.#o.brokerEveryMs - (Date.now() - t0));
    }
  }

  #brokerFor(kind: "entries leader" | "transaction coordinator" | "sink group coordinator"): Promise<number> {
    const c = this.#o.cluster;
    if (kind === "entries leader") return c.leaderOf(this.#o.entriesTopic, 0);
    if (kind === "transaction coordinator")
      return c.transactionCoordinatorOf(this.#o.ingesterTransactionalId);
    return c.groupCoordinatorOf(this.#o.sinkGroup);
  }

  /** kill -9 at random moments: first after 1–3 min, then every 3–7 min; restarted after 2–5 s. */
  async #serviceLoop(service: SupervisedService, signal: AbortSignal): Promise<void> {
    const r = this.#o.random;
    for (let wait = between(r, 60_000, 180_000); await pause(wait, signal); ) {
      wait = between(r, 180_000, 420_000);
      const down = Math.round(between(r, 2_000, 5_000));
      this.#o.log(`fault: kill -9 ${service.name} (pid ${service.proc.pid}), restart in ${down} ms`);
      const startMs = Date.now();
      await service.kill9();
      await new Promise((res) => setTimeout(res, down));
      service.start();
      this.#record({ kind: `kill -9 ${service.name}`, target: service.name, startMs, endMs: Date.now() });
    }
  }

  /** Every 90 s, one log answers most requests with 503/500 for 10 s. */
  async #burstLoop(signal: AbortSignal): Promise<void> {
    const logs = [...this.#o.server.logs.values()];
    for (let i = 0; await pause(BURST_EVERY_MS, signal); i++) {
      const log = logs[i % logs.length];
      const steady = log.faults.faults;
      const startMs = Date.now();
      log.faults.faults = { ...steady, unavailable: 0.4, serverError: 0.4 };
      await new Promise((r) => setTimeout(r, BURST_MS));
      log.faults.faults = steady;
      this.#record({ kind: "5xx burst", target: `log ${log.name}`, startMs, endMs: Date.now() });
    }
  }

  #record(f: FaultRecord): void {
    this.faults.push(f);
    this.#o.onFaultEnd(f);
  }
}
