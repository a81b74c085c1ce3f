/**
 * A PRIVATE Kafka for tests that kill, pause and restart brokers: one node or a three-node KRaft cluster
 * (combined controller+broker processes), started by `scripts/stack.sh` with `STACK_COMPONENTS=kafka` and
 * `STACK_KAFKA_NODES=1|3` in its own temp STACK_DIR, on a free block of ports of its own. The shared stack
 * (KAFKA_BOOTSTRAP_SERVERS) is never touched.
 *
 *   const cluster = await KafkaCluster.start({ nodes: 3, name: "failover" });
 *   try { ... await cluster.kill(await cluster.leaderOf(topic, 0)); ... await cluster.restart(id); }
 *   finally { await cluster.stop(); }
 *
 * Node ids are 1..n; node i listens on `brokers[i - 1]`. Coordinators are computed as Kafka does: the leader of
 * partition `Utils.abs(String.hashCode(id)) % partitionCount` of `__consumer_offsets` / `__transaction_state`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { createLogger } from "@certstream/log";
import type { Admin, Kafka } from "kafkajs";
import { createKafka } from "../libs/kafka/src/index.ts";
import { waitFor } from "./poll.ts";
import { repoRoot } from "./stack.ts";

const run = promisify(execFile);

const STACK_SH = `${repoRoot}/scripts/stack.sh`;
const UP_TIMEOUT_MS = 300_000;

/** Java's String.hashCode (over UTF-16 code units, 32-bit wrap-around), as Kafka hashes group and transactional ids. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Kafka's `Utils.abs`: `Math.abs`, except Integer.MIN_VALUE (whose Math.abs stays negative) gives 0. Not
 * `n & 0x7fffffff` (that is `Utils.toPositive`, the producer partitioner's): for a negative hash the two give
 * different partitions.
 */
export function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/**
 * The partition of `__consumer_offsets` (group id) or `__transaction_state` (transactional id) that holds the
 * id, as the group and transaction coordinators compute it: `Utils.abs(id.hashCode()) % partitions`.
 */
export function coordinatorPartition(id: string, partitions: number): number {
  return kafkaAbs(javaStringHashCode(id)) % partitions;
}

interface StackRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The scheduler state of a process (R, S, T for stopped, Z...), null when it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

/**
 * A block of ports for an n-node Kafka: broker base+2(i-1), controller base+1+2(i-1) (stack.sh's scheme).
 * Blocks 100 apart from 23092 up, clear of the shared stack (19092..), scripts/test.sh's moved blocks
 * (+100..+800) and test/stack-script.test.ts's (20092..22092). A lock file in the temp dir (holding our pid)
 * keeps two test processes that probe at the same moment from taking the same block.
 */
async function reservePortBlock(nodes: number): Promise<{ base: number; release: () => void }> {
  const blocks = 60;
  const first = Math.floor(Math.random() * blocks);
  for (let k = 0; k < blocks; k++) {
    const base = 23092 + ((first + k) % blocks) * 100;
    const lock = `${tmpdir()}/certstream-kafka-ports-${base}.lock`;
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
    } catch {
      const owner = Number(readFileSync(lock, "utf8").trim() || "0");
      if (owner > 0 && processAlive(owner)) continue;
      try {
        unlinkSync(lock); // left by a test process that is gone
        writeFileSync(lock, String(process.pid), { flag: "wx" });
      } catch {
        continue;
      }
    }
    const release = () => rmSync(lock, { force: true });
    const ports = Array.from({ length: 2 * nodes }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return { base, release };
    release();
  }
  throw new Error("no free block of ports for a private Kafka (23092..29092)");
}

export class KafkaCluster {
  /** "127.0.0.1:port" per node; node id i is brokers[i - 1]. */
  readonly brokers: string[];
  readonly nodes: 1 | 3;
  /** The STACK_DIR: data, logs (`kafka[-i].log`) and pid files. Deleted by stop(). */
  readonly dir: string;
  /** A client of this cluster (all brokers), for the test's own producers, consumers and admins. */
  readonly kafka: Kafka;
  private readonly env: NodeJS.ProcessEnv;
  private readonly releasePorts: () => void;
  private stopped = false;

  private constructor(nodes: 1 | 3, dir: string, base: number, releasePorts: () => void) {
    this.nodes = nodes;
    this.dir = dir;
    this.releasePorts = releasePorts;
    this.brokers = Array.from({ length: nodes }, (_, i) => `127.0.0.1:${base + 2 * i}`);
    this.env = {
      ...process.env,
      STACK_DIR: dir,
      STACK_COMPONENTS: "kafka",
      STACK_KAFKA_NODES: String(nodes),
      STACK_KAFKA_PORT: String(base),
      STACK_KAFKA_CONTROLLER_PORT: String(base + 1),
    };
    this.kafka = createKafka({
      brokers: this.brokers,
      clientId: `kafka-cluster-${nodes}`,
      // kafkajs logs every refused connection to a killed broker: expected here.
      logger: createLogger("kafka-cluster", "error"),
      kafkaConfig: { connectionTimeout: 2_000, requestTimeout: 10_000, retry: { retries: 3 } },
    });
  }

  /** Starts a private Kafka of `nodes` nodes and waits until every broker answers and is in the metadata. */
  static async start(opts: { nodes: 1 | 3; name: string }): Promise<KafkaCluster> {
    const safe = opts.name.replace(/[^A-Za-z0-9_.-]/g, "-");
    const dir = mkdtempSync(`${tmpdir()}/certstream-kafka-${safe}-`);
    const { base, release } = await reservePortBlock(opts.nodes);
    const cluster = new KafkaCluster(opts.nodes, dir, base, release);
    try {
      const up = await cluster.stack("up");
      if (up.code !== 0) throw new Error(`stack.sh up failed (${up.code}):\n${up.stderr.trim()}`);
      const env = await cluster.stack("env");
      const listed = /KAFKA_BOOTSTRAP_SERVERS=(\S+)/.exec(env.stdout)?.[1];
      if (listed !== cluster.brokers.join(","))
        throw new Error(`stack.sh env lists ${listed}, expected ${cluster.brokers.join(",")}`);
      const ids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
      await waitFor(
        `all ${opts.nodes} brokers in the metadata`,
        async () => {
          const { brokers } = await cluster.withAdmin((a) => a.describeCluster());
          const seen = brokers.map((b) => b.nodeId).sort((a, b) => a - b);
          return seen.join(",") === ids.join(",");
        },
        60_000,
      );
      return cluster;
    } catch (err) {
      await cluster.stop().catch(() => {});
      throw err;
    }
  }

  /** Runs `scripts/stack.sh <args>` for this cluster's STACK_DIR and ports. */
  private stack(...args: string[]): Promise<StackRun> {
    return new Promise((resolve, reject) => {
      const child = spawn("bash", [STACK_SH, ...args], {
        cwd: repoRoot,
        env: this.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), UP_TIMEOUT_MS);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** A fresh admin for one call (fresh metadata; no connection kept to a broker a test may kill next). */
  async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  private nodeName(nodeId: number): string {
    if (!Number.isInteger(nodeId) || nodeId < 1 || nodeId > this.nodes)
      throw new Error(`no Kafka node ${nodeId} (nodes are 1..${this.nodes})`);
    return this.nodes === 1 ? "kafka" : `kafka-${nodeId}`;
  }

  /** The node's log file (stack.sh appends each start's output). */
  logPath(nodeId: number): string {
    return `${this.dir}/${this.nodeName(nodeId)}.log`;
  }

  /** The last lines of a node's log, for assertion messages. */
  tail(nodeId: number, lines = 30): string {
    try {
      return readFileSync(this.logPath(nodeId), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** The pid of the node's Kafka process while it exists (running or stopped), else null. */
  pid(nodeId: number): number | null {
    let pid: number;
    try {
      pid = Number(readFileSync(`${this.dir}/${this.nodeName(nodeId)}.pid`, "utf8").trim());
    } catch {
      return null;
    }
    const state = pid > 0 ? procState(pid) : null;
    return state === null || state === "Z" || state === "X" ? null : pid;
  }

  /**
   * Sends `signal` (default SIGKILL) to the node's process. Waits until the process is gone; for SIGSTOP /
   * SIGTSTP until it is stopped; SIGCONT returns at once. SIGTERM is Kafka's controlled shutdown (a few s).
   */
  async kill(nodeId: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const pid = this.pid(nodeId);
    if (pid === null) throw new Error(`kafka node ${nodeId} is not running`);
    const wasStopped = procState(pid) === "T";
    process.kill(pid, signal);
    if (signal === "SIGCONT") return;
    if (signal === "SIGSTOP" || signal === "SIGTSTP") {
      await waitFor(
        `kafka node ${nodeId} (pid ${pid}) stopped`,
        async () => procState(pid) === "T",
        10_000,
        20,
      );
      return;
    }
    // A stopped process handles a catchable signal only once it runs again.
    if (wasStopped && signal !== "SIGKILL") process.kill(pid, "SIGCONT");
    await waitFor(
      `kafka node ${nodeId} (pid ${pid}) gone after ${signal}`,
      async () => {
        const state = procState(pid);
        return state === null || state === "Z" || state === "X";
      },
      60_000,
      20,
    );
  }

  /** SIGCONT to a node stopped with kill(nodeId, "SIGSTOP"). */
  resume(nodeId: number): void {
    const pid = this.pid(nodeId);
    if (pid === null) throw new Error(`kafka node ${nodeId} is not running`);
    process.kill(pid, "SIGCONT");
  }

  /**
   * Starts the node again with its data dir (SIGKILLs it first if its process still exists, e.g. stopped),
   * waits until it answers and is back in the cluster metadata (registered and unfenced). Its replicas may
   * still be catching up: waitIsrFull(topics) for that.
   */
  async restart(nodeId: number, opts: { beforeFenced?: boolean } = {}): Promise<void> {
    const name = this.nodeName(nodeId);
    if (this.pid(nodeId) !== null) await this.kill(nodeId, "SIGKILL");
    // beforeFenced: the quick restart (a supervisor restarting a crashed broker at once) that can tear a
    // transaction; see waitFenced.
    if (this.nodes > 1 && !opts.beforeFenced) await this.waitFenced(nodeId);
    const up = await this.stack("up", name);
    if (up.code !== 0)
      throw new Error(`stack.sh up ${name} failed (${up.code}):\n${up.stderr.trim()}\n${this.tail(nodeId)}`);
    await waitFor(
      `kafka node ${nodeId} back in the cluster metadata`,
      async () => {
        const { brokers } = await this.withAdmin((a) => a.describeCluster());
        return brokers.some((b) => b.nodeId === nodeId);
      },
      60_000,
    );
  }

  /**
   * Waits until the controller has fenced the dead node (it is no longer among the brokers the cluster
   * metadata lists), which also moves its partitions' leadership to the survivors. A node restarted before
   * that (within `broker.session.timeout.ms`, 9 s) finds itself still leader in its first metadata image and,
   * for the few seconds until its re-registration moves leadership, acts as transaction coordinator on its own
   * log, unreplicated tail included: a PrepareCommit that never reached a follower is then completed on some
   * partitions while the new coordinator aborts the rest. Measured on Kafka 4.3.1 (see docs/ingester.md,
   * "Kafka's part"): a batch committed on two entries partitions and the state topic, aborted on the third.
   * No client can prevent that tear (the ingester completes a torn batch when it resumes), so the fault tests
   * restart brokers after fencing unless they test exactly that (`restart(id, { beforeFenced: true })`).
   */
  async waitFenced(nodeId: number): Promise<void> {
    await waitFor(
      `kafka node ${nodeId} fenced by the controller`,
      async () => {
        const { brokers } = await this.withAdmin((a) => a.describeCluster());
        return !brokers.some((b) => b.nodeId === nodeId);
      },
      60_000,
      250,
    );
  }

  /** Waits until every partition of `topics` has a leader and all its replicas in the ISR. */
  async waitIsrFull(topics: string[], timeoutMs = 60_000): Promise<void> {
    let last = "";
    await waitFor(
      `full ISR of ${topics.join(", ")}`,
      async () => {
        const meta = await this.withAdmin((a) => a.fetchTopicMetadata({ topics }));
        const short = meta.topics.flatMap((t) =>
          t.partitions
            .filter((p) => p.leader < 0 || p.isr.length < p.replicas.length)
            .map((p) => `${t.name}/${p.partitionId} leader ${p.leader} isr [${p.isr}] of [${p.replicas}]`),
        );
        last = short.join("; ");
        if (short.length > 0) throw new Error(last);
        return meta.topics.length === topics.length;
      },
      timeoutMs,
    );
  }

  /** The node id leading `topic`/`partition` now, per fresh metadata (-1: no leader at the moment). */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const meta = await this.withAdmin((a) => a.fetchTopicMetadata({ topics: [topic] }));
    const p = meta.topics[0]?.partitions.find((x) => x.partitionId === partition);
    if (!p) throw new Error(`${topic} has no partition ${partition}`);
    return p.leader;
  }

  /** Partition count of an internal topic, creating the topic first if no client has needed it yet. */
  private async internalPartitions(topic: string, create: () => Promise<void>): Promise<number> {
    const count = async () =>
      this.withAdmin(async (a) => {
        if (!(await a.listTopics()).includes(topic)) return 0;
        const meta = await a.fetchTopicMetadata({ topics: [topic] });
        return meta.topics[0]?.partitions.length ?? 0;
      });
    let n = await count();
    if (n === 0) {
      await create();
      n = await waitFor(`${topic} created`, async () => (await count()) || undefined, 60_000);
    }
    return n;
  }

  /** The node coordinating `transactionalId`: leader of its `__transaction_state` partition (-1: none now). */
  async transactionCoordinatorOf(transactionalId: string): Promise<number> {
    const partitions = await this.internalPartitions("__transaction_state", async () => {
      // FindCoordinator(TRANSACTION) creates the topic: a throwaway transactional id's init asks for it.
      const producer = this.kafka.producer({
        transactionalId: `kafka-cluster-probe-${process.pid}-${Date.now()}`,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      try {
        const tx = await producer.transaction();
        await tx.abort().catch(() => {});
      } finally {
        await producer.disconnect();
      }
    });
    return this.leaderOf("__transaction_state", coordinatorPartition(transactionalId, partitions));
  }

  /** The node coordinating `groupId`: leader of its `__consumer_offsets` partition (-1: none now). */
  async groupCoordinatorOf(groupId: string): Promise<number> {
    const partitions = await this.internalPartitions("__consumer_offsets", async () => {
      // FindCoordinator(GROUP) creates the topic; describing any group asks for it.
      await this.withAdmin((a) => a.describeGroups([`kafka-cluster-probe-${process.pid}`]));
    });
    return this.leaderOf("__consumer_offsets", coordinatorPartition(groupId, partitions));
  }

  /** Every transaction the cluster knows, with its state (Kafka's own TransactionsCommand, ~2 s of JVM). */
  async transactions(): Promise<{ id: string; coordinator: number; state: string }[]> {
    // TransactionalId  Coordinator  ProducerId  TransactionState
    return (await this.transactionsCommand("list"))
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length >= 4)
      .map((cols) => ({ id: cols[0], coordinator: Number(cols[1]), state: cols[3] }));
  }

  /**
   * The producers a partition's leader knows, with the start offset of each one's open transaction, as
   * TransactionsCommand prints them: what holds a partition's last stable offset back, for a test's failure report.
   */
  describeProducers(topic: string, partition: number): Promise<string> {
    return this.transactionsCommand("describe-producers", "--topic", topic, "--partition", String(partition));
  }

  private async transactionsCommand(...args: string[]): Promise<string> {
    const { stdout } = await run(
      "java",
      [
        "-cp",
        `${repoRoot}/.cache/kafka/libs/*`,
        "org.apache.kafka.tools.TransactionsCommand",
        "--bootstrap-server",
        this.brokers.join(","),
        ...args,
      ],
      { timeout: 30_000 },
    );
    return stdout;
  }

  /**
   * Stops a service (SIGSTOP) at a moment when one of its transactions whose id starts with `prefix` is open
   * (between its first send and its commit) and returns that transactional.id. The caller resumes the process
   * (SIGCONT), whatever it does in between.
   */
  async holdOpenTransaction(service: { proc: ChildProcess | null }, prefix: string): Promise<string> {
    for (let attempt = 1; attempt <= 40; attempt++) {
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      service.proc?.kill("SIGSTOP");
      const open = (await this.transactions()).find((t) => t.id.startsWith(prefix) && t.state === "Ongoing");
      if (open) return open.id;
      service.proc?.kill("SIGCONT");
    }
    throw new Error(`never caught a transaction of ${prefix}* open in 40 attempts`);
  }

  /** `stack.sh down` for this cluster (no process left), then deletes its dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      // A node stopped with SIGSTOP would hold `down` for its 30 s SIGTERM grace: let it run first.
      for (let id = 1; id <= this.nodes; id++) {
        const pid = this.pid(id);
        if (pid !== null && procState(pid) === "T") process.kill(pid, "SIGCONT");
      }
      const down = await this.stack("down");
      if (down.code !== 0) throw new Error(`stack.sh down failed (${down.code}):\n${down.stderr.trim()}`);
    } finally {
      // KAFKA_CLUSTER_KEEP=1 keeps the data for kafka-dump-log after a failed audit.
      if (process.env.KAFKA_CLUSTER_KEEP === "1") console.log(`[kafka-cluster] kept ${this.dir}`);
      else rmSync(this.dir, { recursive: true, force: true });
      this.releasePorts();
    }
  }
}
