// The one prom-client registry of this process. Every metric of every module is declared on it through
// the factories below, so `/metrics` shows everything and tests can read it back.
import { hostname } from "node:os";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();

// Process metrics (CPU, resident memory, heap, event loop lag, GC, open fds) under their standard names
// (`process_*`, `nodejs_*`) so stock Node dashboards and our alerts can use them.
collectDefaultMetrics({ register: registry });

export interface CounterSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}
export interface GaugeSpec<L extends string> extends CounterSpec<L> {
  /** Called at scrape time to refresh the value (e.g. read a queue length). */
  collect?: (this: Gauge<L>) => void | Promise<void>;
}
export interface HistogramSpec<L extends string> extends CounterSpec<L> {
  buckets: readonly number[];
}

function existing<T>(name: string, kind: string, ctor: abstract new (...args: never[]) => T): T | undefined {
  const m = registry.getSingleMetric(name);
  if (m === undefined) return undefined;
  // A module evaluated twice (test re-imports) gets the same metric back; a name clash between two
  // different declarations is a programming error worth failing loudly on.
  if (!(m instanceof ctor))
    throw new Error(`metric ${name} already registered with another type (wanted ${kind})`);
  return m;
}

function checkName(name: string, counter: boolean): void {
  if (!/^certstream_[a-z0-9_]+$/.test(name))
    throw new Error(`metric name ${name} must match certstream_[a-z0-9_]+`);
  if (counter && !name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
}

/** A counter on the process registry. Name must be `certstream_..._total`. */
export function counter<L extends string = never>(spec: CounterSpec<L>): Counter<L> {
  checkName(spec.name, true);
  const found = existing(spec.name, "counter", Counter);
  if (found) return found as Counter<L>;
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: (spec.labelNames ?? []) as L[],
    registers: [registry],
  });
}

/** A gauge on the process registry. */
export function gauge<L extends string = never>(spec: GaugeSpec<L>): Gauge<L> {
  checkName(spec.name, false);
  const found = existing(spec.name, "gauge", Gauge);
  if (found) return found as Gauge<L>;
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: (spec.labelNames ?? []) as L[],
    registers: [registry],
    ...(spec.collect ? { collect: spec.collect } : {}),
  });
}

/** A histogram on the process registry; pick `buckets` from ./buckets.ts for what it times. */
export function histogram<L extends string = never>(spec: HistogramSpec<L>): Histogram<L> {
  checkName(spec.name, false);
  const found = existing(spec.name, "histogram", Histogram);
  if (found) return found as Histogram<L>;
  return new Histogram<L>({
    name: spec.name,
    help: spec.help,
    labelNames: (spec.labelNames ?? []) as L[],
    buckets: [...spec.buckets],
    registers: [registry],
  });
}

/** The exposition text of the process registry and its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

const buildInfo = gauge({
  name: "certstream_build_info",
  help: "Always 1; labels say which build of which service runs on which node",
  labelNames: ["version", "service", "node"],
});

let serviceName = "unknown";

/** The service name given to initMetrics (label of certstream_health_status and friends). */
export function metricsService(): string {
  return serviceName;
}

export interface InitMetricsOptions {
  /** ingester | streamer | delta-sink | backfill (or a test name). */
  service: string;
  /** Defaults to CERTSTREAM_VERSION, then npm_package_version, then "dev". */
  version?: string;
  /** Defaults to NODE_NAME (the Kubernetes node via the downward API), then the hostname. */
  node?: string;
  /**
   * false for a process with no Kafka or schema registry client (archive-search): it exports neither
   * connection gauge, which would read 0 for ever and fire CertstreamKafkaDisconnected. Default true.
   */
  usesKafka?: boolean;
}

/** Sets certstream_build_info and the service label used by health metrics (initMetrics does this and more). */
export function setBuildInfo(opts: InitMetricsOptions): void {
  serviceName = opts.service;
  const version = opts.version ?? process.env.CERTSTREAM_VERSION ?? process.env.npm_package_version ?? "dev";
  const node = opts.node ?? process.env.NODE_NAME ?? hostname();
  buildInfo.reset();
  buildInfo.set({ version, service: opts.service, node }, 1);
}
