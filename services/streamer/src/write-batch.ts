/**
 * Coalesces the writes to each client within one event-loop turn: the first write to a socket in a turn corks
 * it, and one setImmediate uncorks them all, so a Kafka batch of N records reaches a client in one writev
 * (one syscall) instead of N. Latency added: at most one turn of the event loop.
 */
import type { Writable } from "node:stream";

const FLUSH_BYTES = 32 * 1024;

export class WriteBatch {
  private pending: Writable[] = [];
  private scheduled = false;

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
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const streams = this.pending;
    this.pending = [];
    for (const s of streams) if (s.writableCorked > 0) s.uncork();
  };
}
