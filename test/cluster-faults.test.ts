/**
 * What a Kafka cluster does to us, under steady load: a private three-node KRaft cluster (RF 3,
 * min.insync.replicas 2), stand-in logs growing, the ingester, the streamer and the delta sink running, a
 * WebSocket and an SSE client connected (both resume with their last cursor if cut off). Five faults, one after
 * the other:
 *   1. kill -9 the leader of an `entries` partition, restart it after 20 s;
 *   2. kill -9 the transaction coordinator of an ingester log's transactional.id;
 *   3. kill -9 the group coordinator of the delta-sink group;
 *   4. kill -9 a broker while an ingester transaction is open (the ingester is held with SIGSTOP between its
 *      send and its commit: TransactionsCommand shows the transaction Ongoing; the kill lands there);
 *   5. SIGSTOP a broker for longer than its session timeout (a zombie), then SIGCONT.
 * After each: growth stops, everything drains, and `entries` (read_committed) holds every (log, index) once,
 * `certs` is exactly the first sightings, the Delta table holds every (log, index) once, and both clients have
 * every certificate of `certs`. The stall (longest time without ingest progress, and without a delivery to the
 * WebSocket client) is measured and printed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEADER_LEAF_PARSED, HEADER_LOG_ID, HEADER_LOG_INDEX } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableKeyCounts } from "../services/delta-sink/test/harness.ts";
import {
  checkDedupStream,
  duplicatedCerts,
  entryAudit,
  growingStandIns,
  header,
  readTopic,
  sleep,
  standInLogs,
  testKafka,
  uniqueNames,
  waitDedupDrained,
  waitFor,
} from "../services/ingester/test/harness.ts";
import { KafkaCluster } from "./kafka-cluster.ts";
import { freePort, ServiceProcess, waitForHttp } from "./service-process.ts";
import { longestGap, ProgressWatch, ResumingSse, ResumingWs } from "./stream-clients.ts";
import { clusterEnv, writeSystemConfig } from "./system-config.ts";

describe("exactly-once and nothing lost through the faults of a three-node Kafka cluster", () => {
  const server = growingStandIns(1_000_000, [
    { name: "a", certSeed: 11, growRate: 25 },
    { name: "b", certSeed: 11, growRate: 20 },
    { name: "c", certSeed: 12, growRate: 25 },
  ]);
  const dir = mkdtempSync(join(tmpdir(), "cluster-faults-"));
  const names = uniqueNames("faults");
  const tablePath = join(dir, "table");
  let cluster: KafkaCluster;
  let ingester: ServiceProcess;
  let streamer: ServiceProcess;
  let sink: ServiceProcess;
  let ingesterUrl = "";
  let streamerUrl = "";
  let ws: ResumingWs;
  let sse: ResumingSse;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: "cluster-faults" });
    await server.start();
    const [ingesterPort, streamerPort, sinkPort] = [await freePort(), await freePort(), await freePort()];
    ingesterUrl = `http://127.0.0.1:${ingesterPort}`;
    streamerUrl = `http://127.0.0.1:${streamerPort}`;
    const configPath = writeSystemConfig(dir, {
      cluster,
      names,
      server,
      tablePath,
      ports: { ingester: ingesterPort, streamer: streamerPort, sink: sinkPort },
      ingester: { max_batch_entries: 20 },
    });
    const spawn = (name: "ingester" | "streamer" | "delta-sink") =>
      new ServiceProcess(name, ["--config", configPath], join(dir, `${name}.log`)).start(clusterEnv(cluster));
    // The ingester creates the topics; the streamer and the sink wait for them. The clients start from this
    // moment (?since=), so they must receive every record of `certs`, the first ones included.
    const since = String(Date.now() / 1000);
    ingester = spawn("ingester");
    await waitForHttp(`${ingesterUrl}/health`, ingester, 120_000);
    streamer = spawn("streamer");
    sink = spawn("delta-sink");
    await waitForHttp(`${streamerUrl}/health/ready`, streamer, 120_000);
    await waitForHttp(`http://127.0.0.1:${sinkPort}/health`, sink, 120_000);
    ws = new ResumingWs(`${streamerUrl.replace("http", "ws")}/full-stream`, since);
    sse = new ResumingSse(`${streamerUrl}/sse?stream=full`, since);
    await ws.opened;
    await sleep(1000);
  }, 240_000);

  afterAll(async () => {
    ws?.close();
    sse?.close();
    await Promise.allSettled([ingester?.stop(), streamer?.stop(), sink?.stop()]);
    await server.stop();
    await cluster?.stop();
  });

  const kafka = () => testKafka(cluster.brokers);

  /** Grows the logs, runs the fault, lets them grow a little longer, stops them and checks everything. */
  async function underLoad(label: string, fault: () => Promise<void>): Promise<void> {
    try {
      await faultAndAudit(label, fault);
    } catch (e) {
      // vitest reports failures at the end of the file: say it now, with the time, for the service logs. A long
      // message ends with a process's last log lines: keep its head and its end.
      const msg = String(e);
      const shown = msg.length > 2000 ? `${msg.slice(0, 400)}\n…\n${msg.slice(-1600)}` : msg;
      console.log(`[cluster-faults] ${label}: FAILED at ${new Date().toISOString()}: ${shown}`);
      throw e;
    }
  }

  async function faultAndAudit(label: string, fault: () => Promise<void>): Promise<void> {
    const phase = phases(label);
    for (const l of server.logs.values()) l.start();
    await sleep(3000);
    const progress = new ProgressWatch(ingesterUrl);
    const wsFrom = ws.arrivals.length;
    const t0 = Date.now();
    await fault();
    // One fault at a time: the next begins only once every replica is back in sync.
    await cluster.waitIsrFull([names.entries, names.certs, names.state], 120_000);
    phase("fault injected and healed");
    await sleep(3000);
    for (const l of server.logs.values()) l.stop();
    const logs = standInLogs(server);
    const total = logs.reduce((n, l) => n + l.size, 0);
    const k = kafka();
    await waitFor("every log's position at its size", () => ingestedAll(ingesterUrl, logs), 180_000, 500);
    const recovered = Date.now() - t0;
    phase("ingested");
    await waitDedupDrained(k, names);
    phase("dedup drained");
    const entries = await readTopic(k, names.entries);
    const certs = await readTopic(k, names.certs);
    const expectedKeys = certKeys(certs, logs);
    phase("topics read");
    await waitFor(
      "clients have every certificate",
      async () => ws.has(expectedKeys) && sse.has(expectedKeys),
      60_000,
      1000,
    ).catch((e) => {
      const [w, s] = [ws.missing(expectedKeys), sse.missing(expectedKeys)];
      throw new Error(
        `${e}: websocket misses ${w.length} (${w.slice(0, 5)}), SSE misses ${s.length} (${s.slice(0, 5)}) of ${expectedKeys.size}`,
      );
    });
    phase("clients complete");
    const table = await waitFor(
      "the Delta table has every entry",
      async () => {
        const counts = await tableKeyCounts(tablePath).catch(() => null);
        return counts && counts.size >= total ? counts : null;
      },
      180_000,
      2000,
    );
    phase("table complete");
    progress.stop();
    console.log(
      `[cluster-faults] ${label}: ingest stall ${progress.longestStallMs()} ms, websocket stall ` +
        `${longestGap(ws.arrivals.slice(wsFrom))} ms, all entries back ${recovered} ms after the fault began; ` +
        `${total} entries, ${certs.length} certs, client reconnects ws ${ws.reconnects} sse ${sse.reconnects}`,
    );

    expect(entryAudit(entries, logs), `${label}: entries`).toEqual({ duplicated: [], missing: [] });
    expect(duplicatedCerts(certs), `${label}: certs duplicated`).toEqual([]);
    checkDedupStream(entries, certs, HEADER_LEAF_PARSED);
    const tableDupes = [...table].filter(([, n]) => n > 1).map(([key]) => key);
    const tableMissing = logs.flatMap((l) =>
      Array.from({ length: l.size }, (_, i) => `${l.url}#${i}`).filter((key) => !table.has(key)),
    );
    expect({ tableDupes, tableMissing }, `${label}: Delta table`).toEqual({
      tableDupes: [],
      tableMissing: [],
    });
    expect(ws.missing(expectedKeys), `${label}: websocket client`).toEqual([]);
    expect(sse.missing(expectedKeys), `${label}: SSE client`).toEqual([]);
    for (const p of [ingester, streamer, sink])
      expect(p.alive, `${label}: ${p.service} still running`).toBe(true);
  }

  it("1. kill -9 the leader of an entries partition, restart it after 20 s", async () => {
    await underLoad("entries leader", async () => {
      const victim = await cluster.leaderOf(names.entries, 0);
      await cluster.kill(victim);
      await sleep(20_000);
      await cluster.restart(victim);
    });
  }, 420_000);

  it("2. kill -9 the transaction coordinator of an ingester log's transactional.id", async () => {
    await underLoad("transaction coordinator", async () => {
      const victim = await cluster.transactionCoordinatorOf(await someIngesterTransactionalId());
      await cluster.kill(victim);
      await sleep(5000);
      await cluster.restart(victim);
    });
  }, 420_000);

  it("3. kill -9 the group coordinator of the delta-sink group", async () => {
    await underLoad("delta-sink group coordinator", async () => {
      const victim = await cluster.groupCoordinatorOf(`${names.group}-sink`);
      await cluster.kill(victim);
      await sleep(5000);
      await cluster.restart(victim);
    });
  }, 420_000);

  it("4. kill -9 a broker while an ingester transaction is open", async () => {
    await underLoad("broker during an open transaction", async () => {
      const txId = await cluster.holdOpenTransaction(ingester, `${names.txPrefix}-`);
      console.log(`[cluster-faults] transaction ${txId} held open`);
      try {
        const victim = await cluster.transactionCoordinatorOf(txId);
        await cluster.kill(victim);
        ingester.proc?.kill("SIGCONT");
        await sleep(5000);
        await cluster.restart(victim);
      } finally {
        ingester.proc?.kill("SIGCONT");
      }
    });
  }, 420_000);

  it("5. SIGSTOP a broker past its session timeout, then SIGCONT (a zombie broker)", async () => {
    await underLoad("zombie broker", async () => {
      const victim = await cluster.leaderOf(names.state, 0);
      await cluster.kill(victim, "SIGSTOP");
      await sleep(25_000);
      cluster.resume(victim);
      await cluster.waitIsrFull([names.entries, names.certs, names.state]);
    });
  }, 420_000);

  /** A transactional.id the ingester's log watchers use (from TransactionsCommand list). */
  async function someIngesterTransactionalId(): Promise<string> {
    const ids = (await cluster.transactions())
      .map((t) => t.id)
      .filter((id) => id.startsWith(`${names.txPrefix}-`));
    if (ids.length === 0) throw new Error("no ingester transactional.id on the cluster");
    return ids[0];
  }
});

/** True once the ingester's committed position of every log has reached the log's size. */
async function ingestedAll(url: string, logs: { url: string; size: number }[]): Promise<boolean> {
  const res = await fetch(`${url}/api/logs`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { logs: { url: string; position: number | null }[] };
  const position = new Map(body.logs.map((l) => [l.url, l.position ?? 0]));
  return logs.every((l) => (position.get(l.url) ?? 0) >= l.size);
}

/** Logs how long each phase of a fault took (printed as it goes: the service logs have the same clock). */
function phases(label: string): (what: string) => void {
  let last = Date.now();
  return (what) => {
    const now = Date.now();
    console.log(`[cluster-faults] ${label}: ${what} (+${now - last} ms, ${new Date(now).toISOString()})`);
    last = now;
  };
}

/** `source.url#cert_index` of every record of `certs`, as a client names it. */
function certKeys(
  certs: Awaited<ReturnType<typeof readTopic>>,
  logs: { id: string; url: string }[],
): Set<string> {
  const urlOf = new Map(logs.map((l) => [l.id, l.url]));
  return new Set(
    certs.map((r) => `${urlOf.get(header(r, HEADER_LOG_ID) ?? "")}#${header(r, HEADER_LOG_INDEX)}`),
  );
}
