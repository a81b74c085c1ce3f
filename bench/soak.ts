/**
 * The long soak (issue 11; a script, not in CI):
 *
 *   bash scripts/stack.sh up; eval "$(bash scripts/stack.sh env)"     # the schema registry is reused
 *   node bench/soak.ts --minutes 60 [--clients 1000] [--seed N] [--broker-every-secs 300]
 *
 * A private three-node Kafka cluster, stand-in CT logs with faults (429 + Retry-After, 5xx bursts, slow and
 * truncated responses), the ingester, the streamer and the delta sink as child processes (RF 3), and
 * `--clients` stream clients (WebSocket lite/full/domains-only and SSE), for `--minutes`: a broker killed
 * every 5 minutes, the ingester and the sink killed at random. Sampled every 10 s into soak-samples.jsonl;
 * at the end growth stops, everything drains and is audited. Prints a summary with PASS/FAIL per goal and
 * exits 1 on a FAIL. Everything is on 127.0.0.1 and is cleaned up on exit and on SIGINT.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Names, standInLogs, testKafka, uniqueNames } from "../services/ingester/test/harness.ts";
import { seededRandom } from "../test/ct-standin/faults.ts";
import type { StandInServer } from "../test/ct-standin/server.ts";
import { KafkaCluster } from "../test/kafka-cluster.ts";
import { freePort } from "../test/service-process.ts";
import { clusterEnv } from "../test/system-config.ts";
import { drainAndAudit } from "./soak/audit.ts";
import { Chaos, type FaultRecord, steadyFaults } from "./soak/chaos.ts";
import { clientTotals, connectClients, type SoakClient } from "./soak/clients.ts";
import {
  cpuPercent,
  groupLag,
  type ProcStats,
  procStats,
  type Sample,
  type ServiceSample,
  withTimeout,
  writeSample,
} from "./soak/sampler.ts";
import {
  SupervisedService,
  sinkGroup,
  soakStandIns,
  TOTAL_GROW_RATE,
  writeSoakConfig,
} from "./soak/services.ts";
import {
  countGoal,
  formatTable,
  type Goal,
  goalRows,
  type Recovery,
  recoveryGoal,
  rssGoal,
  sampleTable,
} from "./soak/verdict.ts";

const SAMPLE_EVERY_MS = 10_000;
const AUDITED_CLIENTS = 20;
const RECOVERY_POLL_MS = 2_000;
const RECOVERY_WATCH_MS = 120_000;
// Steady state, not zero: a drained transactional partition keeps one commit marker, and while the logs grow
// a few seconds of entries are always in flight (poll interval, transaction, the sink's 2 s flush).
const IN_FLIGHT_S = 3;
const lagTolerance = (partitions: number) => partitions + TOTAL_GROW_RATE * IN_FLIGHT_S;

interface Args {
  minutes: number;
  clients: number;
  seed: number;
  brokerEveryMs: number;
}

function args(): Args {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "60" },
      clients: { type: "string", default: "1000" },
      seed: { type: "string", default: String(Date.now() % 1_000_000) },
      "broker-every-secs": { type: "string", default: "300" },
    },
  });
  const n = (k: keyof typeof values, min: number) => {
    const v = Number(values[k]);
    if (!Number.isFinite(v) || v < min) {
      console.error(`--${k} must be a number >= ${min}, got ${values[k]}`);
      process.exit(2);
    }
    return v;
  };
  return {
    minutes: n("minutes", 1),
    clients: n("clients", 1),
    seed: n("seed", 0),
    brokerEveryMs: n("broker-every-secs", 30) * 1000,
  };
}

const log = (msg: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything the soak started, stopped in reverse order by `cleanup` (once). */
class Resources {
  cluster: KafkaCluster | null = null;
  server: StandInServer | null = null;
  services: SupervisedService[] = [];
  clients: SoakClient[] = [];
  timers: NodeJS.Timeout[] = [];
  #done: Promise<void> | null = null;

  cleanup(): Promise<void> {
    this.#done ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      for (const c of this.clients) c.close();
      await Promise.allSettled(this.services.map((s) => s.stop()));
      await this.server?.stop().catch(() => undefined);
      await this.cluster?.stop().catch((err) => log(`cluster stop: ${String(err)}`));
    })();
    return this.#done;
  }
}

/** Σ over the logs of the ingester's committed positions (next index to ingest); null: no answer. */
async function ingestedTotal(ingesterUrl: string, server: StandInServer): Promise<number | null> {
  try {
    const res = await fetch(`${ingesterUrl}/api/logs`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { logs: { position: number | null }[] };
    if (body.logs.length < server.logs.size) return null;
    return body.logs.reduce((n, l) => n + (l.position ?? 0), 0);
  } catch {
    return null;
  }
}

async function backlogOf(ingesterUrl: string, server: StandInServer | null): Promise<number | null> {
  if (!server) return null;
  const ingested = await ingestedTotal(ingesterUrl, server);
  const held = [...server.logs.values()].reduce((n, l) => n + l.size, 0);
  return ingested === null ? null : held - ingested;
}

async function lags(
  cluster: KafkaCluster,
  names: Names,
): Promise<{ dedup: number | null; sink: number | null }> {
  const one = (group: string, topics: string[]) =>
    withTimeout(
      cluster.withAdmin((a) => groupLag(a, group, topics)),
      8000,
      `lag of ${group}`,
    ).catch(() => null);
  const [dedup, sink] = await Promise.all([
    one(names.dedupGroup, [names.entries]),
    one(sinkGroup(names), [names.entries, names.backfill]),
  ]);
  return { dedup, sink };
}

async function main(): Promise<number> {
  const a = args();
  const r = new Resources();
  const onSignal = (sig: string) => {
    log(`${sig}: cleaning up`);
    void r.cleanup().then(() => process.exit(130));
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  try {
    return await soak(a, r);
  } finally {
    await r.cleanup();
  }
}

async function soak(a: Args, r: Resources): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "soak-"));
  const samplesPath = join(dir, "soak-samples.jsonl");
  log(`${a.minutes} min, ${a.clients} clients, seed ${a.seed}; files in ${dir}`);
  const t0 = Date.now();
  r.cluster = await KafkaCluster.start({ nodes: 3, name: "soak" });
  const cluster = r.cluster;
  const server = soakStandIns();
  r.server = server;
  steadyFaults(server, a.seed);
  await server.start();
  const names = uniqueNames("soak");
  const ports = { ingester: await freePort(), streamer: await freePort(), sink: await freePort() };
  const configPath = writeSoakConfig(dir, cluster, server, names, ports);
  // The environment wins over the config file: the shared stack's broker list must not reach the children.
  const env = clusterEnv(cluster);
  const base = (p: number) => `http://127.0.0.1:${p}`;
  const svc = (name: "ingester" | "streamer" | "delta-sink", health: string) =>
    new SupervisedService(name, configPath, join(dir, `${name}.log`), health, env, (s, exit) =>
      log(`CRASH: ${s.name} exited on its own (${exit}); restarting. See ${s.proc.logPath}`),
    );
  const ingester = svc("ingester", `${base(ports.ingester)}/health`);
  const streamer = svc("streamer", `${base(ports.streamer)}/health/ready`);
  const sink = svc("delta-sink", `${base(ports.sink)}/health`);
  r.services = [ingester, streamer, sink];
  // The ingester creates the topics; the streamer and the sink wait for them.
  await ingester.start().waitHealthy();
  streamer.start();
  sink.start();
  await Promise.all([streamer.waitHealthy(), sink.waitHealthy()]);
  log(`services up after ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  // The audited clients start from before the first certificate (?since= unix seconds): they must get all.
  r.clients = connectClients(base(ports.streamer), a.clients, AUDITED_CLIENTS, String(Math.floor(t0 / 1000)));
  const audited = r.clients.slice(0, Math.min(AUDITED_CLIENTS, a.clients));
  await sleep(5000);
  log(
    `${clientTotals(r.clients).connected}/${a.clients} clients connected; logs growing at ${TOTAL_GROW_RATE}/s`,
  );

  for (const l of server.logs.values()) l.start();
  const growStart = Date.now();
  const samples: Sample[] = [];
  r.timers.push(startSampling(r, names, cluster, base(ports.ingester), growStart, samplesPath, samples));
  const recoveries: Promise<Recovery>[] = [];
  const chaos = new Chaos({
    cluster,
    server,
    ingester,
    sink,
    entriesTopic: names.entries,
    ingesterTransactionalId: ingesterTransactionalId(names, server),
    sinkGroup: sinkGroup(names),
    brokerEveryMs: a.brokerEveryMs,
    random: seededRandom(a.seed),
    log,
    onFaultEnd: (f) => recoveries.push(watchRecovery(f, cluster, names, base(ports.ingester), server)),
  });
  chaos.start();
  await sleep(a.minutes * 60_000);

  log("time is up: stopping faults and growth, draining");
  await chaos.stop();
  for (const l of server.logs.values()) l.stop();
  const settled = await Promise.all(recoveries);
  const audit = await drainAndAudit({
    kafka: testKafka(cluster.brokers),
    names,
    server,
    tablePath: join(dir, "table"),
    audited,
    log,
  });
  const runS = (Date.now() - growStart) / 1000;
  const goals: Goal[] = [
    countGoal(
      "crashes (a service exiting on its own)",
      r.services.reduce((n, s) => n + s.crashes, 0),
      r.services.map((s) => `${s.name} ${s.crashes}`).join(", "),
    ),
    ...audit.goals,
    ...r.services.map((s) => rssGoal(samples, s.name)),
    recoveryGoal(settled),
  ];
  report(a, runS, audit.totals, chaos.faults, settled, samples, r, goals, samplesPath);
  return goals.some((g) => g.pass === false) ? 1 : 0;
}

/** The transactional.id of the first stand-in log's watcher (log-watcher.ts names it so). */
function ingesterTransactionalId(names: Names, server: StandInServer): string {
  const id = standInLogs(server)[0].id;
  return `${names.txPrefix}-${id.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

function startSampling(
  r: Resources,
  names: Names,
  cluster: KafkaCluster,
  ingesterUrl: string,
  growStart: number,
  path: string,
  samples: Sample[],
): NodeJS.Timeout {
  const prevStats = new Map<string, { pid: number; at: number; stats: ProcStats }>();
  let prevCerts = 0;
  let prevAt = Date.now();
  let busy = false;
  return setInterval(async () => {
    if (busy) return; // an admin call still waiting on a killed broker: skip rather than pile up
    busy = true;
    try {
      const now = Date.now();
      const services: Record<string, ServiceSample> = {};
      for (const s of r.services) services[s.name] = serviceSample(s, now, prevStats);
      const totals = clientTotals(r.clients);
      const sample: Sample = {
        t: new Date(now).toISOString(),
        elapsedS: Math.round((now - growStart) / 1000),
        services,
        lag: await lags(cluster, names),
        backlog: await backlogOf(ingesterUrl, r.server),
        deliveriesPerSec: Math.round(((totals.certs - prevCerts) * 1000) / (now - prevAt)),
        droppedTotal: totals.dropped,
        clientsConnected: totals.connected,
        clientReconnects: totals.reconnects,
      };
      prevCerts = totals.certs;
      prevAt = now;
      samples.push(sample);
      writeSample(path, sample);
    } finally {
      busy = false;
    }
  }, SAMPLE_EVERY_MS);
}

function serviceSample(
  s: SupervisedService,
  now: number,
  prev: Map<string, { pid: number; at: number; stats: ProcStats }>,
): ServiceSample {
  const pid = s.proc.alive ? (s.proc.pid ?? null) : null;
  const stats = pid === null ? null : procStats(pid);
  const before = prev.get(s.name);
  let cpuPct: number | null = null;
  if (stats && pid !== null) {
    if (before && before.pid === pid)
      cpuPct = Math.round(cpuPercent(before.stats, stats, now - before.at) * 10) / 10;
    prev.set(s.name, { pid, at: now, stats });
  }
  return {
    pid,
    rssMb: stats ? Math.round(stats.rssBytes / 1024 / 1024) : null,
    cpuPct,
    upMs: now - s.startedAt,
  };
}

/**
 * Polls until the system has recovered from a fault that just ended: the ingester has committed every entry
 * the logs held at that moment (so a lag of zero cannot come from an ingester that is still down), and both
 * groups' lag is back to steady state.
 */
async function watchRecovery(
  f: FaultRecord,
  cluster: KafkaCluster,
  names: Names,
  ingesterUrl: string,
  server: StandInServer,
): Promise<Recovery> {
  const tolerance = lagTolerance(3);
  const target = [...server.logs.values()].reduce((n, l) => n + l.size, 0);
  for (let t = Date.now(); t - f.endMs < RECOVERY_WATCH_MS; t = Date.now()) {
    const [l, ingested] = await Promise.all([lags(cluster, names), ingestedTotal(ingesterUrl, server)]);
    const ok =
      ingested !== null && ingested >= target && [l.dedup, l.sink].every((v) => v !== null && v <= tolerance);
    if (ok) {
      const recoveredS = Math.round((Date.now() - f.endMs) / 1000);
      log(`recovered from ${f.kind} (${f.target}) ${recoveredS} s after it ended`);
      return { kind: f.kind, target: f.target, recoveredS };
    }
    await sleep(RECOVERY_POLL_MS);
  }
  log(`NOT recovered from ${f.kind} (${f.target}) within ${RECOVERY_WATCH_MS / 1000} s`);
  return { kind: f.kind, target: f.target, recoveredS: null };
}

function report(
  a: Args,
  runS: number,
  totals: string,
  faults: FaultRecord[],
  recoveries: Recovery[],
  samples: Sample[],
  r: Resources,
  goals: Goal[],
  samplesPath: string,
): void {
  const ct = [...(r.server?.logs.values() ?? [])]
    .map((l) => `${l.name}: ${JSON.stringify(l.faults.counts)}`)
    .join("; ");
  const c = clientTotals(r.clients);
  console.log(`\n=== soak: ${a.minutes} min (${runS.toFixed(0)} s of growth and drain), seed ${a.seed} ===`);
  console.log(totals);
  console.log(`clients: ${a.clients}, reconnects ${c.reconnects}, dropped notices ${c.dropped}`);
  console.log(`stand-in faults injected: ${ct}`);
  console.log(`service kills: ${r.services.map((s) => `${s.name} ${s.kills}`).join(", ")}`);
  console.log(
    "\nfaults (recovery: seconds from the fault's end until what the logs held then is ingested, lag steady):",
  );
  for (const [i, f] of faults.entries())
    console.log(
      `  ${f.kind} (${f.target}) at +${Math.round((f.startMs - (faults[0]?.startMs ?? 0)) / 1000)} s, ` +
        `${Math.round((f.endMs - f.startMs) / 1000)} s long, recovered ${recoveredText(recoveries[i])}`,
    );
  console.log(
    `\n${formatTable(
      sampleTable(
        samples,
        r.services.map((s) => s.name),
      ),
    )}`,
  );
  console.log(`\n${formatTable(goalRows(goals))}`);
  console.log(`\nsamples: ${samplesPath}`);
}

const recoveredText = (r: Recovery | undefined) =>
  r?.recoveredS === null || r === undefined
    ? `not within ${RECOVERY_WATCH_MS / 1000} s`
    : `after ${r.recoveredS} s`;

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
