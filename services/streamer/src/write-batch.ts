/**
 * Coalesces the writes to each client: the first write to a socket corks it, and one timer (every
 * `intervalMs`, or the next event-loop turn when 0) uncorks them all, so the records of that window reach a
 * client in one writev (one syscall) instead of one each. Latency added: at most `intervalMs`.
 */
import type { Writable } from "node:stream";

const FLUSH_BYTES = 32 * 1024;
const SLICE_MS = 10;

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

  /**
   * Uncorks what waits, for at most SLICE_MS at a time (a write per socket: thousands of clients take tens of
   * milliseconds); the rest is uncorked in the next event-loop turn, after the I/O that came meanwhile.
   */
  readonly flush = (): void => {
    this.scheduled = false;
    const streams = this.pending;
    this.pending = [];
    const end = performance.now() + SLICE_MS;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i];
      if (s.writableCorked > 0) s.uncork();
      if ((i & 63) === 63 && i + 1 < streams.length && performance.now() > end) {
        // still corked: writes meanwhile join them, and they go out first in the next turn
        this.pending = streams.slice(i + 1).concat(this.pending);
        this.scheduled = true;
        setImmediate(this.flush);
        return;
      }
    }
  };
}
