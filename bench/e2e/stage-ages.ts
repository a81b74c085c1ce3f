/**
 * The latency split by stage of bench/e2e-latency.bench.ts, from the services' own histograms: the ingester's
 * certstream_ingester_record_age_seconds and the streamer's certstream_streamer_record_age_seconds, scraped
 * from /metrics at the window's start and end; the difference is the window's. Quantiles are interpolated
 * linearly inside a bucket (as Prometheus' histogram_quantile does), so they are as fine as the buckets.
 */

/** Cumulative bucket counts by upper bound, per `stage` label, of one histogram. */
export type StageBuckets = Map<string, Map<number, number>>;

export interface StageAges {
  /** Metric name → stage → buckets. */
  histograms: Map<string, StageBuckets>;
}

const NAMES = ["certstream_ingester_record_age_seconds", "certstream_streamer_record_age_seconds"];
const BUCKET_LINE = /^(\w+)_bucket\{([^}]*)\} (\S+)$/;

/** Scrapes the age histograms of every URL (a service that does not answer contributes nothing). */
export async function scrapeStageAges(metricsUrls: string[]): Promise<StageAges> {
  const histograms = new Map<string, StageBuckets>();
  for (const url of metricsUrls) {
    let text = "";
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      text = await res.text();
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const m = BUCKET_LINE.exec(line);
      if (!m || !NAMES.includes(m[1])) continue;
      const labels = Object.fromEntries(
        [...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]] as [string, string]),
      );
      const le = labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le);
      const byStage = histograms.get(m[1]) ?? new Map<string, Map<number, number>>();
      histograms.set(m[1], byStage);
      const buckets = byStage.get(labels.stage ?? "") ?? new Map<number, number>();
      byStage.set(labels.stage ?? "", buckets);
      buckets.set(le, Number(m[3]));
    }
  }
  return { histograms };
}

export interface StageSummary {
  /** Observations in the window (records; batches for ingest_committed). */
  n: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Per stage (`<service>:<stage>`, in pipeline order), the window's count and quantiles. */
export function stageSplit(before: StageAges, after: StageAges): Record<string, StageSummary> {
  const out: Record<string, StageSummary> = {};
  for (const name of NAMES) {
    const service = name.split("_")[1];
    for (const [stage, end] of after.histograms.get(name) ?? []) {
      const start = before.histograms.get(name)?.get(stage);
      const bounds = [...end.keys()].sort((a, b) => a - b);
      const counts = bounds.map((le) => (end.get(le) ?? 0) - (start?.get(le) ?? 0));
      const n = counts[counts.length - 1] ?? 0;
      out[`${service}:${stage}`] = {
        n,
        p50Ms: quantileMs(bounds, counts, 0.5),
        p99Ms: quantileMs(bounds, counts, 0.99),
      };
    }
  }
  return out;
}

/** histogram_quantile over cumulative `counts` at upper `bounds`, in ms; null with no observation. */
function quantileMs(bounds: number[], counts: number[], q: number): number | null {
  const n = counts[counts.length - 1] ?? 0;
  if (n === 0) return null;
  const rank = q * n;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] < rank) continue;
    const lower = i === 0 ? 0 : bounds[i - 1];
    const below = i === 0 ? 0 : counts[i - 1];
    // Above the last finite bound: that bound is all that is known.
    if (!Number.isFinite(bounds[i])) return Math.round(lower * 1000);
    const inBucket = counts[i] - below;
    const at = inBucket === 0 ? bounds[i] : lower + ((bounds[i] - lower) * (rank - below)) / inBucket;
    return Math.round(at * 1000);
  }
  return null;
}
