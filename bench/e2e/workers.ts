/**
 * The client side of bench/e2e-latency.bench.ts: `workers` forked processes (bench/e2e/client-worker.ts), the
 * clients split evenly between them, asked the same question at once and answering by request id.
 */
import { type ChildProcess, fork } from "node:child_process";
import type {
  ReadyMessage,
  SnapshotReply,
  WorkerConfig,
  WorkerReply,
  WorkerReport,
  WorkerRequest,
} from "./protocol.ts";

const WORKER = new URL("./client-worker.ts", import.meta.url).pathname;

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
type Ask = WithoutId<WorkerRequest>;

export class ClientWorkers {
  readonly #children: ChildProcess[] = [];
  readonly #pending = new Map<number, { replies: WorkerReply[]; resolve: (r: WorkerReply[]) => void }>();
  #nextId = 1;
  /** Workers still running: a question is answered once each of them has replied. */
  #live = 0;
  #stopping = false;
  #onLost: (message: string) => void;

  private constructor(onLost: (message: string) => void) {
    this.#onLost = onLost;
  }

  /** Forks the workers and waits until each has made every client's first connection attempt. */
  static async start(o: {
    url: string;
    clients: number;
    workers: number;
    sampleEvery: number;
    connectConcurrency: number;
    /** A worker exited unasked (its clients no longer count). */
    onLost: (message: string) => void;
  }): Promise<ClientWorkers> {
    const pool = new ClientWorkers(o.onLost);
    const ready: Promise<ReadyMessage>[] = [];
    let firstId = 0;
    for (let w = 0; w < o.workers; w++) {
      const n = Math.floor(o.clients / o.workers) + (w < o.clients % o.workers ? 1 : 0);
      const cfg: WorkerConfig = {
        url: o.url,
        firstId,
        clients: n,
        sampleEvery: o.sampleEvery,
        connectConcurrency: o.connectConcurrency,
      };
      firstId += n;
      const child = fork(WORKER, [JSON.stringify(cfg)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      pool.#children.push(child);
      pool.#live++;
      child.once("exit", (code, signal) => pool.#exited(w, code, signal));
      ready.push(
        new Promise((resolve, reject) => {
          child.once("exit", (code) => reject(new Error(`client worker ${w} exited (${code}) before ready`)));
          child.on("message", (m: WorkerReply | ReadyMessage) => {
            if (m.type === "ready") resolve(m);
            else pool.#reply(m);
          });
        }),
      );
    }
    await Promise.all(ready);
    return pool;
  }

  get pids(): number[] {
    return this.#children.map((c) => c.pid ?? -1);
  }

  /** Marks the start of the window in every worker. */
  begin(from: number, capacity: number): Promise<SnapshotReply[]> {
    return this.#ask({ type: "start", from, capacity }) as Promise<SnapshotReply[]>;
  }

  /** Certificate frames received and clients connected, summed over the workers. */
  async snapshot(): Promise<{ frames: number; received: number; connected: number }> {
    const rs = (await this.#ask({ type: "snapshot" })) as SnapshotReply[];
    const t = { frames: 0, received: 0, connected: 0 };
    for (const r of rs) {
      t.frames += r.frames;
      t.received += r.received;
      t.connected += r.connected;
    }
    return t;
  }

  report(to: number): Promise<WorkerReport[]> {
    return this.#ask({ type: "report", to }) as Promise<WorkerReport[]>;
  }

  /** Every client closes its connection; resolves when every worker has exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const alive = this.#children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exited = Promise.all(alive.map((c) => new Promise((r) => c.once("exit", r))));
    for (const c of alive) {
      c.send({ type: "exit", id: 0 } satisfies WorkerRequest);
      setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
    }
    await exited;
  }

  #ask(q: Ask): Promise<WorkerReply[]> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, { replies: [], resolve });
      for (const c of this.#children) if (c.connected) c.send({ ...q, id } as WorkerRequest);
      this.#settle(id);
    });
  }

  #reply(m: WorkerReply): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    p.replies.push(m);
    this.#settle(m.id);
  }

  #settle(id: number): void {
    const p = this.#pending.get(id);
    if (!p || p.replies.length < this.#live) return;
    this.#pending.delete(id);
    p.resolve(p.replies);
  }

  #exited(w: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.#live--;
    if (!this.#stopping) this.#onLost(`client worker ${w} exited unasked (code ${code}, signal ${signal})`);
    for (const id of [...this.#pending.keys()]) this.#settle(id);
  }
}
