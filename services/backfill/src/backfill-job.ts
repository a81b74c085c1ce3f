import type { Config } from "@certstream/config";
import { IssuerCache, OperatorBudgets } from "@certstream/ct";
import { storageFor, tableLocationText } from "@certstream/delta";
import type { CertificateEntryCodec } from "@certstream/kafka";
import { StateCodec } from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import type { Kafka } from "kafkajs";
import { openArchive, scanArchive, sinkTxnVersions } from "./archive-scan.ts";
import { BackfillProducer, backfillTransactionalId } from "./backfill-producer.ts";
import type { BackfillArgs } from "./cli-args.ts";
import { type ArchiveScanStats, gapsForLog, type LogGaps, withoutPending } from "./gap-detection.ts";
import { readInFlight, readIngesterPositions } from "./in-flight.ts";
import {
  formatRanges,
  type IndexRange,
  splitIntoWindows,
  subtractRanges,
  unionRanges,
} from "./index-ranges.ts";
import { type CatalogLog, sourceOf } from "./log-catalog.ts";
import { createBackfillClient, UnreachableGuard } from "./log-clients.ts";
import { runLog } from "./log-runner.ts";
import {
  backfillGapEntries,
  backfillGapScanDuration,
  backfillGapScanFiles,
  backfillLogs,
  backfillPendingEntries,
} from "./metrics.ts";
import type { LogProgress, ProgressSink } from "./progress.ts";
import { waitForSink } from "./sink-wait.ts";
import { type BackfillSummary, exitCodeFor, type LogOutcome, summarize } from "./summary.ts";

export interface BackfillJobDeps {
  config: Config;
  args: BackfillArgs;
  /** The logs selected by --logs (and not excluded). */
  logs: readonly CatalogLog[];
  kafka: Kafka;
  /** Registered for the backfill topic's value subject. */
  codec: CertificateEntryCodec;
  logger: Logger;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  progress: ProgressSink;
  /** Where the dry-run listing goes (stdout). */
  print: (text: string) => void;
  /** The HTTP client the CT clients use (tests may wrap it); default the global fetch. */
  fetch?: typeof fetch;
  /** How often progress is rendered. */
  progressEveryMs?: number;
}

export interface PlannedLog {
  log: CatalogLog;
  gaps: LogGaps;
  /** Entries excluded from the gaps because they are committed in a topic and on their way to the table. */
  inFlight: number;
}

export interface BackfillPlan {
  logs: PlannedLog[];
  scanMs: number;
  scanStats: ArchiveScanStats;
  positions: Map<string, number>;
  inFlightRecords: { entries: number; backfill: number };
}

export interface BackfillResult {
  plan: BackfillPlan;
  summary: BackfillSummary;
  exitCode: 0 | 1;
}

function groupPrefix(config: Config): string {
  return `${config.backfill.transactional_id_prefix}-reader`;
}

/**
 * Gap detection: ingester positions, the table (stats first), then what is in flight in the entries and backfill
 * topics beyond the sink's stored offsets. `beforeTails` runs between the table scan and the topic reads, with the
 * logs that have candidate gaps: the job fences those logs' previous producers there, so that what it then reads
 * as committed is final.
 */
export async function planBackfill(
  deps: BackfillJobDeps,
  beforeTails: (candidates: PlannedLog[]) => Promise<void> = async () => {},
): Promise<BackfillPlan> {
  const { config, kafka, codec, logger } = deps;
  const topics = config.kafka.topics;
  const readTimeoutMs = config.backfill.read_timeout_secs * 1000;
  const stateCodec = new StateCodec(config.kafka.schema_registry_url, topics.state);
  const { positions, undecodable } = await readIngesterPositions(kafka, {
    topic: topics.state,
    decode: (v) => stateCodec.decode(v),
    groupPrefix: groupPrefix(config),
    timeoutMs: readTimeoutMs,
  });
  if (undecodable > 0)
    logger.warn({ topic: topics.state, undecodable }, "ingester state records not decodable; skipped");

  const ids = deps.logs.map((l) => l.id);
  let lastNote = Date.now();
  const scan = await scanArchive(await openArchive(storageFor(config.delta_sink, { sync: false })), ids, {
    // A large table takes a while: say how far the scan is (the TTY bars only start with the fetching).
    onFileRead: (_rows, done, total) => {
      deps.progress.status?.(`scanning the archive: ${done}/${total} files read`);
      if (Date.now() - lastNote < 5000) return;
      lastNote = Date.now();
      logger.info({ files_read: done, files_to_read: total }, "scanning the archive");
    },
  });
  const st = scan.index.stats;
  backfillGapScanDuration.set(scan.durationMs / 1000);
  backfillGapScanFiles.inc({ decision: "stats" }, st.dense.files);
  backfillGapScanFiles.inc({ decision: "skipped" }, st.skippedOtherLogs.files + st.skippedCovered.files);
  backfillGapScanFiles.inc({ decision: "read" }, st.read.files);
  logger.info(
    {
      table: tableLocationText(config.delta_sink),
      version: scan.snapshot?.version ?? null,
      ms: Math.round(scan.durationMs),
      stats_only: st.dense,
      skipped: { other_logs: st.skippedOtherLogs, covered: st.skippedCovered },
      read: st.read,
      bad_rows: st.badRows,
    },
    "archive scanned",
  );

  let planned: PlannedLog[] = deps.logs.map((log) => ({
    log,
    gaps: gapsForLog(scan.index, log.id, {
      from: deps.args.from,
      ingesterPosition: positions.get(log.id) ?? null,
    }),
    inFlight: 0,
  }));
  for (const p of planned) {
    if (p.gaps.duplicates > 0)
      logger.warn({ log: p.log.name, duplicates: p.gaps.duplicates }, "archive holds duplicate indices");
  }
  const candidates = planned.filter((p) => p.gaps.missing > 0);
  await beforeTails(candidates);
  if (candidates.length > 0)
    deps.progress.status?.("reading what is in flight in the entries and backfill topics");

  const inFlightRecords = { entries: 0, backfill: 0 };
  if (candidates.length > 0) {
    const wanted = new Set(candidates.map((p) => p.log.id));
    const decode = (v: Buffer) => codec.decode(v);
    const [e, b] = await Promise.all(
      (["entries", "backfill"] as const).map((t) =>
        readInFlight(kafka, {
          topic: topics[t],
          sinkVersions: sinkTxnVersions(scan.snapshot, topics[t]),
          logs: wanted,
          decode,
          groupPrefix: groupPrefix(config),
          timeoutMs: readTimeoutMs,
        }),
      ),
    );
    inFlightRecords.entries = e.records;
    inFlightRecords.backfill = b.records;
    backfillPendingEntries.set({ topic: topics.entries }, e.records);
    backfillPendingEntries.set({ topic: topics.backfill }, b.records);
    planned = planned.map((p) => {
      const pending = unionRanges(e.pending.get(p.log.id) ?? [], b.pending.get(p.log.id) ?? []);
      const gaps = withoutPending(p.gaps, pending);
      return { ...p, gaps, inFlight: p.gaps.missing - gaps.missing };
    });
  }
  for (const p of planned) backfillGapEntries.set({ log: p.log.name }, p.gaps.missing);
  return { logs: planned, scanMs: scan.durationMs, scanStats: st, positions, inFlightRecords };
}

/** The dry-run listing: one block per log. */
export function formatPlan(plan: BackfillPlan, args: BackfillArgs, tablePath: string): string {
  const st = plan.scanStats;
  const lines = [
    `gaps (${args.from === null ? "catch-up" : `from ${args.from}`}) in ${tablePath}: scanned in ${Math.round(plan.scanMs)} ms ` +
      `(${st.dense.files} files from stats, ${st.read.files} read, ${st.skippedOtherLogs.files + st.skippedCovered.files} skipped)`,
  ];
  let total = 0;
  for (const p of plan.logs) {
    const g = p.gaps;
    total += g.missing;
    const head = `  ${p.log.name} [${p.log.id}]`;
    if (g.domain.end <= g.domain.start) {
      lines.push(`${head}: nothing to look at (${g.archived === 0 ? "nothing archived" : "empty domain"})`);
      continue;
    }
    const bound = g.upperBound === "ingester" ? "ingester position" : "highest archived + 1";
    let line =
      `${head}: ${g.missing} missing in ${g.gaps.length} gap(s) within ${g.domain.start}-${g.domain.end - 1} ` +
      `(upper bound: ${bound}; ${g.archived} archived`;
    if (p.inFlight > 0) line += `, ${p.inFlight} in flight`;
    if (g.duplicates > 0) line += `, ${g.duplicates} DUPLICATES`;
    line += ")";
    if (g.gaps.length > 0) line += `: ${formatRanges(g.gaps)}`;
    lines.push(line);
  }
  lines.push(
    `total: ${total} entries missing in ${plan.logs.filter((p) => p.gaps.missing > 0).length} log(s)`,
  );
  return lines.join("\n");
}

/** The whole job: plan, then (unless --dry-run) fill every log's gaps, optionally wait and verify. */
export async function runBackfill(deps: BackfillJobDeps): Promise<BackfillResult> {
  const started = Date.now();
  const { config, kafka, args } = deps;
  const topic = config.kafka.topics.backfill;
  const producers = new Map<string, BackfillProducer>();

  const admin = kafka.admin();
  await admin.connect();
  let partitions: number;
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    partitions = meta.topics[0]?.partitions.length ?? 0;
    if (partitions === 0) throw new Error(`topic ${topic} has no partitions`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  try {
    const plan = await planBackfill(deps, async (candidates) => {
      if (args.dryRun) return; // a dry run must not fence a job that may be running
      await Promise.all(
        candidates.map(async (p) => {
          const producer = new BackfillProducer({
            kafka,
            topic,
            partitions,
            transactionalId: backfillTransactionalId(config.backfill.transactional_id_prefix, p.log.id),
            encode: (e) => deps.codec.encodeSync(e, `${topic}-value`),
            transactionTimeoutMs: config.backfill.transaction_timeout_ms,
          });
          await producer.init();
          producers.set(p.log.id, producer);
        }),
      );
    });

    if (args.dryRun) {
      deps.print(formatPlan(plan, args, tableLocationText(config.delta_sink)));
      const outcomes: LogOutcome[] = plan.logs.map((p) => ({
        name: p.log.name,
        id: p.log.id,
        state: "completed",
        gaps: p.gaps.gaps,
        missing: p.gaps.missing,
        written: 0,
        refused: [],
        verified: null,
      }));
      const summary = summarize(outcomes, Date.now() - started);
      return { plan, summary, exitCode: 0 };
    }

    const outcomes = await fillGaps(deps, plan, producers);
    if (args.wait) await waitAndVerify(deps, outcomes, producers);
    const summary = summarize(outcomes, Date.now() - started);
    return { plan, summary, exitCode: exitCodeFor(summary) };
  } finally {
    await Promise.all([...producers.values()].map((p) => p.close()));
  }
}

async function fillGaps(
  deps: BackfillJobDeps,
  plan: BackfillPlan,
  producers: Map<string, BackfillProducer>,
): Promise<LogOutcome[]> {
  const { config, logger } = deps;
  const budgets = new OperatorBudgets({
    rateLimits: config.ct_log.operator_rate_limits,
    defaultRatePerSec: config.ct_log.default_rate_limit,
  });
  const issuers = new IssuerCache();
  const progress: LogProgress[] = plan.logs.map((p) => ({
    name: p.log.name,
    total: p.gaps.missing,
    done: 0,
    state: p.gaps.missing > 0 ? "pending" : "completed",
    gapsRemaining: p.gaps.gaps.length,
  }));
  const publishStates = () => {
    for (const s of ["pending", "running", "completed", "failed"] as const)
      backfillLogs.set({ state: s }, progress.filter((p) => p.state === s).length);
  };
  publishStates();
  const timer = setInterval(() => deps.progress.render(progress), deps.progressEveryMs ?? 1000);
  timer.unref();

  const outcomes: LogOutcome[] = new Array(plan.logs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= plan.logs.length) return;
      const p = plan.logs[i];
      const prog = progress[i];
      const base = {
        name: p.log.name,
        id: p.log.id,
        gaps: p.gaps.gaps,
        missing: p.gaps.missing,
        verified: null,
      };
      const producer = producers.get(p.log.id);
      if (p.gaps.missing === 0 || !producer) {
        outcomes[i] = { ...base, state: "completed", written: 0, refused: [] };
        continue;
      }
      if (deps.signal.aborted) {
        prog.state = "failed";
        prog.error = "interrupted before it started";
        outcomes[i] = { ...base, state: "failed", written: 0, refused: [], error: prog.error };
        publishStates();
        continue;
      }
      prog.state = "running";
      publishStates();
      const logAbort = new AbortController();
      const guard = new UnreachableGuard(config.backfill.unreachable_after_failures, logAbort);
      const client = createBackfillClient(p.log, config, {
        budgets,
        issuers,
        fetch: guard.wrap(deps.fetch ?? fetch),
      });
      const signal = AbortSignal.any([deps.signal, logAbort.signal]);
      const windows = splitIntoWindows(p.gaps.gaps, config.backfill.window_size);
      logger.info(
        {
          log: p.log.name,
          missing: p.gaps.missing,
          gaps: p.gaps.gaps.length,
          windows: windows.length,
        },
        "backfilling log",
      );
      let result: { written: number; refused: IndexRange[]; error: string | null };
      try {
        // A static-ct-api client must know the tree size to pick full vs partial tiles; for RFC 6962 logs this
        // verifies the STH and shows early whether the log is reachable at all.
        await client.client.head(signal);
        result = await runLog({
          source: sourceOf(p.log),
          client,
          windows,
          gaps: p.gaps.gaps,
          concurrency: config.backfill.concurrency,
          producer,
          signal,
          guard,
          progress: prog,
          logger,
        });
      } catch (err) {
        result = {
          written: 0,
          refused: [],
          error: guard.gaveUp ?? (deps.signal.aborted ? "interrupted" : (err as Error).message),
        };
        logger.error({ log: p.log.name, err: result.error }, "backfill of log failed; other logs go on");
      }
      prog.state = result.error === null ? "completed" : "failed";
      if (result.error !== null) prog.error = result.error;
      publishStates();
      outcomes[i] = {
        ...base,
        state: result.error === null ? "completed" : "failed",
        written: result.written,
        refused: result.refused,
        ...(result.error !== null ? { error: result.error } : {}),
      };
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, config.backfill.max_parallel_logs) }, () => worker()));
  } finally {
    clearInterval(timer);
    deps.progress.render(progress, true);
  }
  return outcomes;
}

/** --wait: the sink has written everything produced, and the table now holds every filled index. */
async function waitAndVerify(
  deps: BackfillJobDeps,
  outcomes: LogOutcome[],
  producers: Map<string, BackfillProducer>,
): Promise<void> {
  const { config, logger } = deps;
  const lastOffsets = new Map<number, bigint>();
  for (const p of producers.values()) {
    for (const [part, off] of p.lastOffsets) {
      const cur = lastOffsets.get(part);
      if (cur === undefined || off > cur) lastOffsets.set(part, off);
    }
  }
  logger.info(
    { partitions: Object.fromEntries(lastOffsets) },
    "waiting for the delta sink to write what was produced",
  );
  const waited = await waitForSink({
    tablePath: config.delta_sink.table_path,
    storage: storageFor(config.delta_sink, { sync: false }),
    topic: config.kafka.topics.backfill,
    lastOffsets,
    timeoutMs: config.backfill.wait_timeout_secs * 1000,
    signal: deps.signal,
  });
  if (!waited.covered) {
    const behind = [...waited.behind]
      .map(([p, [have, need]]) => `${p}: ${have ?? "none"} < ${need}`)
      .join(", ");
    logger.error({ behind }, "the delta sink did not write everything in time");
  }
  // Failed logs stopped part-way: what they did not reach is known to be missing, there is nothing to verify.
  const filled = outcomes.filter((o) => o.missing > 0 && o.state === "completed");
  if (filled.length === 0) return;
  const scan = await scanArchive(
    await openArchive(storageFor(config.delta_sink, { sync: false })),
    filled.map((o) => o.id),
  );
  for (const o of filled) {
    const expected = subtractRanges(o.gaps, o.refused);
    const still = expected.flatMap((g) => scan.index.missing(o.id, g.start, g.end));
    o.verified = still.length === 0;
    if (!o.verified) {
      o.state = "failed";
      o.error = `${still.reduce((n, r) => n + r.end - r.start, 0)} entries still missing after waiting: ${formatRanges(still, 5)}`;
      logger.error({ log: o.name, still: formatRanges(still, 10) }, "gaps not closed after --wait");
    }
  }
}
