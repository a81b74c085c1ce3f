/**
 * Coalesces the writes to each client: the first write to a socket corks it, and one timer (every
 * `intervalMs`, or the next event-loop turn when 0) uncorks them all, so the records of that window reach a
 * client in one writev (one syscall) instead of one each. Latency added: at most `intervalMs`.
 */
import type { Writable } from "node:stream";

const FLUSH_BYTES = 32 * 1024;

export class WriteBatch {
  private pending: Writable[] = [];
  private scheduled = false;
  intervalMs: number;

  constructor(intervalMs = 0) {
    this.intervalMs = intervalMs;
  }

  /**
   * Call before writing to `stream`. Past FLUSH_BYTES corked, the stream is flushed at once (so a large batch
   * does not sit in user space and count against the client's send buffer as if the client were slow).
   */
  hold(stream: Writable): void {
    if (stream.writableCorked > 0) {
      if (stream.writableLength >= FLUSH_BYTES) {
        stream.uncork();
        stream.cork();
      }
      return;
    }
    stream.cork();
    this.pending.push(stream);
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.intervalMs > 0) setTimeout(this.flush, this.intervalMs);
      else setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const streams = this.pending;
    this.pending = [];
    for (const s of streams) if (s.writableCorked > 0) s.uncork();
  };
}
