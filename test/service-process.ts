/**
 * A service of this repo as a child process (`node services/<name>/src/main.ts --config <file>`), for tests
 * that kill, pause and restart real processes. Output goes to a log file (when given) so a failing test can
 * show it; listeners see it as it comes, for tests that wait on a log line or kill on one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { repoRoot } from "./stack.ts";

export type ServiceName = "ingester" | "streamer" | "delta-sink" | "backfill" | "archive-search";

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type OutputListener = (stream: "stdout" | "stderr", chunk: string) => void;

export class ServiceProcess {
  readonly service: ServiceName;
  readonly args: string[];
  /** Where stdout and stderr are appended; null keeps output only for listeners. */
  readonly logPath: string | null;
  /** The running child (null before start() and after stop/kill9/terminate). */
  proc: ChildProcess | null = null;
  private running = false;
  private readonly listeners: OutputListener[] = [];
  /** Resolves with the exit code and the signal that ended the process. */
  exitStatus: Promise<ServiceExit> = Promise.resolve({ code: null, signal: null });
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(service: ServiceName, args: string[], logPath: string | null) {
    this.service = service;
    this.args = args;
    this.logPath = logPath;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** True from start() until the process exits. */
  get alive(): boolean {
    return this.running;
  }

  /** Starts the service; `cwd` (default: the repository) is its working directory. */
  start(env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): this {
    const proc = spawn(
      join(repoRoot, "node_modules/.bin/node"),
      [join(repoRoot, `services/${this.service}/src/main.ts`), ...this.args],
      { cwd: options.cwd ?? repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const out = this.logPath ? createWriteStream(this.logPath, { flags: "a" }) : null;
    for (const stream of ["stdout", "stderr"] as const) {
      proc[stream]?.on("data", (d: Buffer) => {
        out?.write(d);
        if (this.listeners.length === 0) return;
        const chunk = d.toString();
        for (const l of this.listeners) l(stream, chunk);
      });
    }
    this.proc = proc;
    this.running = true;
    this.exitStatus = new Promise((resolve) =>
      proc.on("exit", (code, signal) => {
        this.running = false;
        resolve({ code, signal });
      }),
    );
    this.exited = this.exitStatus.then((s) => s.code);
    return this;
  }

  /** Calls `listener` with every chunk of output from now on. */
  onOutput(listener: OutputListener): void {
    this.listeners.push(listener);
  }

  /** The first match of `re` in stdout (from now on); rejects if the process exits first. */
  waitForStdout(re: RegExp): Promise<RegExpExecArray> {
    let buf = "";
    const found = new Promise<RegExpExecArray>((resolve, reject) => {
      this.onOutput((stream, chunk) => {
        if (stream !== "stdout") return;
        buf += chunk;
        const m = re.exec(buf);
        if (m) resolve(m);
        if (buf.length > 1 << 20) buf = buf.slice(-4096);
      });
      void this.exited.then((code) =>
        reject(new Error(`${this.service} exited (${code}) before printing ${re}; see ${this.logPath}`)),
      );
    });
    found.catch(() => {});
    return found;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      if (this.proc?.pid) process.kill(this.proc.pid, sig);
    } catch {
      // already exited
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code (null when killed). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (!this.proc) return null;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    this.proc = null;
    return code;
  }

  /** SIGTERM, then wait for the exit however long it takes. Resolves with the exit code. */
  async terminate(): Promise<number | null> {
    if (!this.proc) return null;
    this.signal("SIGTERM");
    const code = await this.exited;
    this.proc = null;
    return code;
  }

  async kill9(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
    this.proc = null;
  }

  /** The last lines of the process's output, for assertion messages. */
  tail(lines = 20): string {
    try {
      if (!this.logPath) return "(no log file)";
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no output)";
    }
  }
}

/** Polls `url` until it answers 2xx, or throws with the process's last output. */
export async function waitForHttp(url: string, proc: ServiceProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${proc.service} did not answer ${url} within ${timeoutMs} ms:\n${proc.tail()}`);
}

/** A TCP port free on 127.0.0.1 right now (for a service whose config needs its port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
