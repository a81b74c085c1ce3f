import { appendFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DestinationStream } from "pino";

/** Where the job logs on a terminal when `backfill.terminal_log_path` is empty. */
export function terminalLogPath(configured: string): string {
  return configured || join(tmpdir(), "certstream-backfill.log");
}

/**
 * The log destination of a job on a terminal: every line appended to a file (so nothing lands among the
 * progress bars), warnings and errors counted by message for the summary after the bars. Writes are
 * synchronous: a job that exits right after its summary loses no line.
 */
export class LogTally implements DestinationStream {
  readonly path: string;
  readonly #counts = new Map<string, number>();

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  write(line: string): void {
    appendFileSync(this.path, line);
    if (!/"level":"(warn|error|fatal)"/.test(line)) return;
    let msg = "?";
    try {
      const o = JSON.parse(line) as { level: string; msg?: string; component?: string };
      msg = `${o.level}: ${o.component ? `${o.component}: ` : ""}${o.msg ?? ""}`;
    } catch {
      // a line pino wrote is JSON; anything else is counted under "?"
    }
    this.#counts.set(msg, (this.#counts.get(msg) ?? 0) + 1);
  }

  /** Lines for after the bars ("3 × warn: kafkajs: ..."), most frequent first; empty when nothing was logged. */
  summary(): string[] {
    if (this.#counts.size === 0) return [];
    let total = 0;
    for (const n of this.#counts.values()) total += n;
    const lines = [`${total} warning(s)/error(s) logged to ${this.path}:`];
    const sorted = [...this.#counts].sort((a, b) => b[1] - a[1]);
    for (const [msg, n] of sorted.slice(0, 8)) lines.push(`  ${n} × ${msg.slice(0, 160)}`);
    if (sorted.length > 8) lines.push(`  … and ${sorted.length - 8} other message(s)`);
    return lines;
  }
}
