// A service (`node services/<name>/src/main.ts --config <file>`) as a child process for cross-service tests,
// with its output in a log file that failures point at.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./prometheus-bin.ts";

export class ServiceProcess {
  readonly name: string;
  readonly logPath: string;
  #proc: ChildProcess | null = null;
  exitCode: number | null = null;
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(name: string, logPath: string) {
    this.name = name;
    this.logPath = logPath;
  }

  start(args: string[], env: Record<string, string> = {}): void {
    const out = createWriteStream(this.logPath, { flags: "a" });
    const proc = spawn(
      join(repoRoot, "node_modules/.bin/node"),
      [join(repoRoot, `services/${this.name}/src/main.ts`), ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    this.#proc = proc;
    this.exited = new Promise((resolve) =>
      proc.on("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.#proc !== null && this.exitCode === null && this.#proc.exitCode === null;
  }

  /** The last lines of its output, for failure messages. */
  tail(lines = 15): string {
    try {
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no output)";
    }
  }

  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (!this.#proc || !this.running) return this.exitCode;
    this.#proc.kill("SIGTERM");
    const timer = setTimeout(() => this.#proc?.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function scrape(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}
