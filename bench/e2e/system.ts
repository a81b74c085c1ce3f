/**
 * The system under test of bench/e2e-latency.bench.ts: a private one-node Kafka (test/kafka-cluster.ts, so the
 * shared broker's other users neither slow the run nor are slowed by it; the shared schema registry is
 * reused, as the soak does), one growing stand-in CT log of distinct certificates in this process, and the
 * ingester and the streamer as child processes (test/service-process.ts of the source tree measured, see
 * source-tree.ts). The config is test/system-config.ts's, with the services' defaults for the CT batch size
 * and the partitions, what a run sets (poll interval, partial tile wait), and ingestion from the first grown
 * entry.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Names, uniqueNames } from "../../services/ingester/test/harness.ts";
import { type StandInLog, StandInServer } from "../../test/ct-standin/server.ts";
import { KafkaCluster } from "../../test/kafka-cluster.ts";
import { freePort, type ServiceProcess } from "../../test/service-process.ts";
import { clusterEnv, systemConfig } from "../../test/system-config.ts";
import { streamerLaunch } from "../streamer-launch.ts";

type ServiceProcessModule = typeof import("../../test/service-process.ts");

export type LogKind = "static" | "rfc6962";

export interface SystemOptions {
  kind: LogKind;
  /** Entries per second the stand-in log grows by while growing. */
  rate: number;
  /** ct_log.poll_interval_ms. */
  pollMs: number;
  /** ct_log.partial_tile_wait_secs; undefined: the default of the source tree measured. */
  partialTileWaitSecs: number | undefined;
  /** Root of the source tree whose services run. */
  root: string;
  /** Config and service logs. */
  dir: string;
  log: (msg: string) => void;
}

const LOG_NAME = "e2e";
// Real RFC 6962 logs serve 256 entries or more per get-entries; the stand-in's default (32) would spend the
// operator's request budget (ct_log.default_rate_limit, 10/s) at 200 entries/s.
const RFC_PAGE_SIZE = 256;
// The services' defaults (libs/config), where test/system-config.ts sets its own for short test runs.
const CT_BATCH_SIZE = 256;
const PARTITIONS = 6;

export class E2eSystem {
  readonly cluster: KafkaCluster;
  readonly server: StandInServer;
  readonly log: StandInLog;
  readonly ingester: ServiceProcess;
  readonly streamer: ServiceProcess;
  readonly streamerUrl: string;
  readonly ingesterUrl: string;
  /** Services that exited on their own (a run with one is void). */
  readonly crashes: string[];
  /** What the streamer was started with beyond the config (scripts/up.sh's memory settings and compile cache). */
  readonly streamerEnv: Record<string, string>;

  private constructor(
    cluster: KafkaCluster,
    server: StandInServer,
    ingester: ServiceProcess,
    streamer: ServiceProcess,
    ports: { ingester: number; streamer: number },
    crashes: string[],
    streamerEnv: Record<string, string>,
  ) {
    this.crashes = crashes;
    this.streamerEnv = streamerEnv;
    this.cluster = cluster;
    this.server = server;
    this.log = server.logs.get(LOG_NAME) as StandInLog;
    this.ingester = ingester;
    this.streamer = streamer;
    this.streamerUrl = `http://127.0.0.1:${ports.streamer}`;
    this.ingesterUrl = `http://127.0.0.1:${ports.ingester}`;
  }

  /** Starts everything; the log does not grow until `log.start()`. `onStarted` sees each part once it exists. */
  static async start(
    o: SystemOptions,
    onStarted: (part: { stop(): Promise<unknown> }) => void,
  ): Promise<E2eSystem> {
    const sp = (await import(join(o.root, "test/service-process.ts"))) as ServiceProcessModule;
    const cluster = await KafkaCluster.start({ nodes: 1, name: "e2e" });
    onStarted(cluster);
    const server = new StandInServer({ growOnStart: false });
    const opts = { name: LOG_NAME, growRate: o.rate, mode: "distinct" as const, certSeed: 31 };
    if (o.kind === "static") server.addStatic(opts);
    else server.addRfc6962({ ...opts, pageSize: RFC_PAGE_SIZE });
    await server.start();
    onStarted(server);
    const ports = { ingester: await freePort(), streamer: await freePort() };
    const configPath = writeConfig(o, cluster, server, uniqueNames("e2e"), ports);
    const env = clusterEnv(cluster);
    const service = (name: "ingester" | "streamer") =>
      new sp.ServiceProcess(name, ["--config", configPath], join(o.dir, `${name}.log`));
    const ingester = service("ingester");
    const streamer = service("streamer");
    const crashes: string[] = [];
    let stopping = false;
    const stop = (s: ServiceProcess) => ({
      stop: () => {
        stopping = true;
        return s.stop(5_000);
      },
    });
    onStarted(stop(streamer));
    onStarted(stop(ingester));
    // The ingester creates the topics; the streamer waits for them.
    ingester.start(env);
    await sp.waitForHttp(`http://127.0.0.1:${ports.ingester}/health`, ingester, 120_000);
    const launch = streamerLaunch(o.root);
    launch.warm(configPath, env);
    streamer.start({ ...env, ...launch.env });
    await sp.waitForHttp(`http://127.0.0.1:${ports.streamer}/health/ready`, streamer, 120_000);
    for (const s of [ingester, streamer])
      void s.exitStatus.then((e) => {
        if (stopping) return;
        crashes.push(s.service);
        o.log(`${s.service} EXITED on its own (code ${e.code}, signal ${e.signal}): see ${s.logPath}`);
      });
    return new E2eSystem(cluster, server, ingester, streamer, ports, crashes, launch.env);
  }

  /** The ingester's committed position in the log (next index to ingest); null when it does not answer. */
  async ingested(): Promise<number | null> {
    try {
      const res = await fetch(`${this.ingesterUrl}/api/logs`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { logs: { position: number | null }[] };
      return body.logs[0]?.position ?? null;
    } catch {
      return null;
    }
  }

  /** Waits (at most `timeoutMs`) until the ingester has committed every entry the log holds now. */
  async waitIngested(timeoutMs: number): Promise<boolean> {
    const size = this.log.size;
    for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
      if (((await this.ingested()) ?? -1) >= size) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /** Clients the streamer counts (its /api/stats); null when it does not answer. */
  async streamerClients(): Promise<number | null> {
    try {
      const res = await fetch(`${this.streamerUrl}/api/stats`, { signal: AbortSignal.timeout(2000) });
      return ((await res.json()) as { total_clients: number }).total_clients;
    } catch {
      return null;
    }
  }
}

/** test/system-config.ts's config with the services' own defaults for what this run does not set. */
function writeConfig(
  o: SystemOptions,
  cluster: KafkaCluster,
  server: StandInServer,
  names: Names,
  ports: { ingester: number; streamer: number },
): string {
  const config = systemConfig({
    cluster,
    names,
    ports,
    server,
    replicaId: "e2e",
    partitions: PARTITIONS,
    ctLog: {
      poll_interval_ms: o.pollMs,
      batch_size: CT_BATCH_SIZE,
      ...(o.partialTileWaitSecs === undefined ? {} : { partial_tile_wait_secs: o.partialTileWaitSecs }),
    },
  });
  // From the first grown entry on: the real test data before it is not part of any measurement.
  const size = (server.logs.get(LOG_NAME) as StandInLog).size;
  for (const key of ["custom_logs", "static_logs"])
    for (const l of config[key] as { start_index: number }[]) l.start_index = size;
  const path = join(o.dir, "config.yaml");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
