import { join } from "node:path";
import type { Names } from "../../services/ingester/test/harness.ts";
import { StandInServer } from "../../test/ct-standin/server.ts";
import type { KafkaCluster } from "../../test/kafka-cluster.ts";
import { type ServiceName, ServiceProcess, waitForHttp } from "../../test/service-process.ts";
import { sinkGroupOf, writeSystemConfig } from "../../test/system-config.ts";

/** Logs a and b serve the same certificates (certSeed), so `certs` has duplicates to drop. Entries per second. */
const RFC_LOGS = [
  { name: "a", certSeed: 21, growRate: 12 },
  { name: "b", certSeed: 21, growRate: 8 },
  { name: "c", certSeed: 22, growRate: 10 },
];
const STATIC_LOGS = [{ name: "d", certSeed: 23, growRate: 6 }];
export const TOTAL_GROW_RATE = [...RFC_LOGS, ...STATIC_LOGS].reduce((n, l) => n + l.growRate, 0);

/** Growing stand-ins; nothing grows past the real entries until `l.start()`. */
export function soakStandIns(): StandInServer {
  const server = new StandInServer({ growOnStart: false });
  for (const l of RFC_LOGS) server.addRfc6962({ ...l, mode: "distinct" });
  for (const l of STATIC_LOGS) server.addStatic({ ...l, mode: "distinct" });
  return server;
}

export interface Ports {
  ingester: number;
  streamer: number;
  sink: number;
}

/** One config for all three services, replication factor 3 on the private cluster. */
export function writeSoakConfig(
  dir: string,
  cluster: KafkaCluster,
  server: StandInServer,
  names: Names,
  ports: Ports,
): string {
  return writeSystemConfig(dir, {
    cluster,
    names,
    server,
    ports,
    tablePath: join(dir, "table"),
    replicaId: "soak",
    ctLog: { poll_interval_ms: 500, retry_max_delay_ms: 2000 },
    ingester: { max_batch_entries: 50 },
    deltaSink: { flush_interval_secs: 2 },
  });
}

export const sinkGroup = sinkGroupOf;

/** A service child process that is restarted when it exits on its own, counting that as a crash. */
export class SupervisedService {
  readonly proc: ServiceProcess;
  readonly healthUrl: string;
  crashes = 0;
  kills = 0;
  startedAt = 0;
  readonly #env: NodeJS.ProcessEnv;
  #expectExit = false;
  #stopping = false;
  #onCrash: (s: SupervisedService, exit: string) => void;

  constructor(
    name: ServiceName,
    configPath: string,
    logPath: string,
    healthUrl: string,
    env: NodeJS.ProcessEnv,
    onCrash: (s: SupervisedService, exit: string) => void,
  ) {
    this.proc = new ServiceProcess(name, ["--config", configPath], logPath);
    this.healthUrl = healthUrl;
    this.#env = env;
    this.#onCrash = onCrash;
  }

  get name(): ServiceName {
    return this.proc.service;
  }

  start(): this {
    this.#expectExit = false;
    this.proc.start(this.#env);
    this.startedAt = Date.now();
    void this.proc.exitStatus.then((exit) => this.#exited(`code ${exit.code} signal ${exit.signal}`));
    return this;
  }

  #exited(exit: string): void {
    if (this.#expectExit || this.#stopping) return;
    this.crashes++;
    this.#onCrash(this, exit);
    setTimeout(() => this.#stopping || this.start(), 1000);
  }

  async waitHealthy(timeoutMs = 120_000): Promise<void> {
    await waitForHttp(this.healthUrl, this.proc, timeoutMs);
  }

  /** kill -9 (a fault we inject, not a crash). */
  async kill9(): Promise<void> {
    this.#expectExit = true;
    this.kills++;
    await this.proc.kill9();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.proc.stop(5_000);
  }
}
