/**
 * A service of this repo as a child process (`node services/<name>/src/main.ts --config <file>`), for tests
 * that kill, pause and restart real processes. Output goes to a log file so a failing test can show it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./stack.ts";

export type ServiceName = "ingester" | "streamer" | "delta-sink" | "backfill";

export class ServiceProcess {
  readonly service: ServiceName;
  readonly args: string[];
  readonly logPath: string;
  private proc: ChildProcess | null = null;
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(service: ServiceName, args: string[], logPath: string) {
    this.service = service;
    this.args = args;
    this.logPath = logPath;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(env: NodeJS.ProcessEnv = {}): this {
    const out = createWriteStream(this.logPath, { flags: "a" });
    const proc = spawn(
      join(repoRoot, "node_modules/.bin/node"),
      [join(repoRoot, `services/${this.service}/src/main.ts`), ...this.args],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
    return this;
  }

  signal(sig: NodeJS.Signals): void {
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

  async kill9(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
    this.proc = null;
  }

  /** The last lines of the process's output, for assertion messages. */
  tail(lines = 20): string {
    try {
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
