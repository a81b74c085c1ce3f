import { type HealthState, registerHttpMetrics, registerMetricsRoute } from "@certstream/metrics";
import Fastify, { type FastifyInstance } from "fastify";
import type { DedupStage } from "./dedup-stage.ts";
import type { Ingester, LogReport } from "./ingester.ts";

export interface ApiDeps {
  ingester: Ingester | null;
  dedup: DedupStage | null;
  health: HealthState;
  replicaId: string;
  /** Serve /metrics here (false when a separate metrics listener serves it). */
  metrics: boolean;
}

/** One log as /api/logs shows it (snake_case, like the rest of the public JSON). */
export interface LogView {
  id: string;
  name: string;
  url: string;
  operator: string;
  kind: string;
  /** Replica watching it now (this one when `owned`), or the writer of its last stored position. */
  owner: string | null;
  owned: boolean;
  phase: string;
  /** Next index to write. */
  position: number | null;
  /** Tree size of the log's newest head. */
  head: number | null;
  lag_entries: number | null;
  /** 0 when caught up; else now minus the timestamp of the newest entry written. */
  lag_seconds: number | null;
  /** Now minus the timestamp of the newest entry written (whether caught up or not). */
  source_lag_seconds: number | null;
  idle_seconds: number | null;
  last_commit_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  /** Set while the log is stalled (reading it keeps failing): since when, at which index, and why. */
  stalled_since: string | null;
  stalled_at_index: number | null;
  stall_reason: string | null;
  /** Tree verification (issue 18): null before the log's state is known. */
  verification: VerificationView | null;
}

/** A log's tree verification as /api/logs shows it. */
export interface VerificationView {
  /** ct_log.verify of the replica watching it ("observe" shown for logs watched elsewhere). */
  mode: string;
  /** verified (the position is at a verified size), pending, unverifiable (no range), mismatch, halted. */
  state: "verified" | "pending" | "unverifiable" | "mismatch" | "halted";
  /** Every entry below it hashes to the log's signed root of this size (0: none yet). */
  verified_size: number;
  verified_tree_timestamp: string | null;
  /** The compact range covers [0, range_size) when has_range; seeded_at: index where it was seeded. */
  range_size: number;
  has_range: boolean;
  seeded_at: number | null;
  /** Bytes of the stored range (32 per subtree). */
  range_bytes: number;
  mismatch: {
    tree_size: number;
    tree_timestamp: string | null;
    log_root: string;
    computed_root: string;
    detected_at: string | null;
  } | null;
}

const iso = (ms: number | null): string | null =>
  ms === null || ms <= 0 ? null : new Date(ms).toISOString();

export function logView(r: LogReport, now = Date.now()): LogView {
  const lagEntries = r.head !== null && r.position !== null ? Math.max(0, r.head - r.position) : null;
  const sourceLag =
    r.newestEntryTimestamp !== null ? Math.max(0, (now - r.newestEntryTimestamp) / 1000) : null;
  return {
    id: r.log.id,
    name: r.log.name,
    url: r.log.url,
    operator: r.log.operator,
    kind: r.log.kind,
    owner: r.owner,
    owned: r.owned,
    phase: r.phase,
    position: r.position,
    head: r.head,
    lag_entries: lagEntries,
    lag_seconds: lagEntries === 0 ? 0 : sourceLag,
    source_lag_seconds: sourceLag,
    idle_seconds: r.owned ? (now - (r.lastNewEntryAt ?? r.startedAt)) / 1000 : null,
    last_commit_at: iso(r.lastCommitAt),
    last_error: r.lastError,
    last_error_at: iso(r.lastErrorAt),
    stalled_since: r.stall ? iso(r.stall.since) : null,
    stalled_at_index: r.stall?.index ?? null,
    stall_reason: r.stall?.reason ?? null,
    verification: verificationView(r),
  };
}

function verificationView(r: LogReport): VerificationView | null {
  const t = r.tree;
  if (!t?.stored || t.mode === "off") return t?.mode === "off" ? offView : null;
  const v = t.stored;
  const hasRange = v.range_hashes !== null;
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
  return {
    mode: t.mode,
    state: v.halted
      ? "halted"
      : v.mismatch
        ? "mismatch"
        : !hasRange
          ? "unverifiable"
          : v.verified_size > 0 && v.verified_size === v.range_size
            ? "verified"
            : "pending",
    verified_size: v.verified_size,
    verified_tree_timestamp: iso(v.verified_timestamp),
    range_size: v.range_size,
    has_range: hasRange,
    seeded_at: v.seeded_at,
    range_bytes: v.range_hashes?.length ?? 0,
    mismatch: v.mismatch
      ? {
          tree_size: v.mismatch.tree_size,
          tree_timestamp: iso(v.mismatch.tree_timestamp),
          log_root: b64(v.mismatch.log_root),
          computed_root: b64(v.mismatch.computed_root),
          detected_at: iso(v.mismatch.detected_at),
        }
      : null,
  };
}

const offView: VerificationView = {
  mode: "off",
  state: "unverifiable",
  verified_size: 0,
  verified_tree_timestamp: null,
  range_size: 0,
  has_range: false,
  seeded_at: null,
  range_bytes: 0,
  mismatch: null,
};

/** /api/logs, /health (liveness), /health/ready (readiness), /metrics. */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  registerHttpMetrics(app, { ignoreRoutes: ["/metrics"] });
  app.get("/api/logs", async () => {
    const now = Date.now();
    const logs = (deps.ingester?.report() ?? []).map((r) => logView(r, now));
    logs.sort((a, b) => a.name.localeCompare(b.name));
    return { replica: deps.replicaId, logs, dedup: deps.dedup?.stats() ?? null };
  });
  // The operator's action after a tree mismatch (ct_log.verify): drop the log's range and mismatch, resume
  // publishing (enforce), seed a new range where the log resumes. Answered by the replica watching the log.
  app.post<{ Params: { id: string } }>("/api/logs/:id/verification/reset", async (req, reply) => {
    const id = req.params.id;
    const pending = deps.ingester?.resetVerification(id) ?? null;
    if (!pending) {
      const known = deps.ingester?.report().find((r) => r.log.id === id);
      return reply.code(known ? 409 : 404).send({
        error: known
          ? `log ${id} is watched by replica ${known.owner ?? "none"}, not ${deps.replicaId}: ask that one`
          : `no log with id ${id}`,
      });
    }
    const ok = await pending;
    return reply
      .code(ok ? 200 : 409)
      .send(ok ? { reset: id } : { error: `log ${id}: watcher stopped before the reset was committed` });
  });
  app.get("/health", async (_req, reply) => {
    const h = deps.health;
    return reply.code(h.live ? 200 : 503).send({ status: h.live ? "ok" : "down", health: h.status });
  });
  app.get("/health/ready", async (_req, reply) => {
    const h = deps.health;
    const body = {
      status: h.ready ? "ready" : "not_ready",
      health: h.status,
      ingester: deps.ingester
        ? { ready: deps.ingester.isReady(), watching: deps.ingester.watching().length }
        : null,
      dedup: deps.dedup ? { ready: deps.dedup.isReady(), partitions: deps.dedup.stats().partitions } : null,
    };
    return reply.code(h.ready ? 200 : 503).send(body);
  });
  if (deps.metrics) registerMetricsRoute(app);
  return app;
}
