/**
 * One connected stream client (WebSocket or SSE) and its slow-client policy.
 *
 * Frames wait in the client's own queue and are handed to the socket only while the socket holds less than
 * IN_FLIGHT_BYTES. So what a client has not taken yet is mostly ours, and can be let go: when a client is cut
 * off, its last notice and close frame go out right behind what is already in flight, not behind megabytes of
 * data it would have to read first (it saw 1006 instead of 4008 then).
 *
 * The send buffer (the queue plus what the socket holds) is bounded by `limitBytes`. A frame that does not fit
 * is dropped and counted, and so is every frame after it until the buffer has drained to half (the loss is one
 * contiguous gap); then the client gets one `{"message_type":"dropped","count":N}` notice. A client is judged by
 * what it dropped over a window, not by one full buffer: more than `maxDropped` drops within `windowMs` and it
 * gets a last notice and is closed with 4008. So a burst costs a client messages, not its connection, and
 * memory per client stays under the limit plus one frame, whatever the client does.
 */
import type { Position } from "./cursor.ts";
import type { ClientFilter } from "./filters.ts";
import { droppedMessage } from "./render.ts";
import type { StreamFormat } from "./settings.ts";

export type Transport = "ws" | "sse";

export interface ClientSink {
  /** Bytes the socket holds for this client: handed to it, not yet taken by the kernel. */
  buffered(): number;
  /**
   * Hand one complete frame (already framed for the transport) to the socket. `coalesce`: it waits for the
   * write batch's flush with the other writes of this event-loop turn (one syscall for them); otherwise it goes
   * to the kernel now, as far as the kernel takes it.
   */
  write(frame: Buffer, coalesce: boolean): void;
  /** Frame a streamer message (dropped notice) for this transport. */
  frame(message: Buffer): Buffer;
  /** Close the connection: WebSocket close code + reason; SSE ends the response. */
  close(code: number, reason: string): void;
}

export interface ClientEvents {
  dropped(client: StreamClient, count: number): void;
  slowDisconnect(client: StreamClient): void;
}

export interface ClientLimits {
  /** Bytes queued for the client (queue + socket) before messages to it are dropped. */
  limitBytes: number;
  /** More drops than this within `windowMs` and the client is cut off (4008). */
  maxDropped: number;
  windowMs: number;
}

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TOO_SLOW = 4008;

/**
 * What the socket may hold before frames wait in the client's queue. Enough to keep a fast client's pipe full
 * between two event-loop turns; small enough that a close frame is never far behind.
 */
export const IN_FLIGHT_BYTES = 64 * 1024;

/** The drop window is counted in this many buckets (a drop leaves the count within 1/6 of the window late). */
const BUCKETS = 6;

export class StreamClient {
  readonly format: StreamFormat;
  readonly transport: Transport;
  readonly ip: string;
  readonly filter: ClientFilter | null;
  /** After a resume: offsets below these were already delivered by the resume reader. */
  minOffsets: Position | null = null;
  /**
   * Null until the client misses a record; then the cursor just before the first record it missed, for the
   * rest of the connection. Every resume point the client is given (SSE `id:`, heartbeat `cursor`) is this one
   * from then on, so a reconnect from any of them gets the missed records back.
   */
  gapCursor: string | null = null;
  closed = false;
  /** Set by the server: releases what the connection holds (resume slot). */
  onClose: (() => void) | null = null;
  delivered = 0;
  droppedTotal = 0;
  private readonly sink: ClientSink;
  private readonly events: ClientEvents;
  private limits: ClientLimits;
  /** Frames not handed to the socket yet, from `head` on. */
  private readonly queue: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Drops since the last notice (the current gap). */
  private pendingDrops = 0;
  /** Drops per window bucket (allocated at the first drop); `bucketAt` is the newest bucket's number. */
  private drops: Uint32Array | null = null;
  private bucketAt = 0;

  constructor(opts: {
    format: StreamFormat;
    transport: Transport;
    ip: string;
    filter: ClientFilter | null;
    sink: ClientSink;
    events: ClientEvents;
    limits: ClientLimits;
  }) {
    this.format = opts.format;
    this.transport = opts.transport;
    this.ip = opts.ip;
    this.filter = opts.filter;
    this.sink = opts.sink;
    this.events = opts.events;
    this.limits = opts.limits;
  }

  setLimits(limits: ClientLimits): void {
    if (limits.windowMs !== this.limits.windowMs) this.drops = null;
    this.limits = limits;
  }

  /** Room for a burst (resume replay): not lagging and the buffer at most half full. */
  hasRoom(): boolean {
    return this.closed || (this.pendingDrops === 0 && this.buffered() <= this.limits.limitBytes / 2);
  }

  buffered(): number {
    return this.closed ? 0 : this.queuedBytes + this.sink.buffered();
  }

  /**
   * Returns true when the frame was queued, false when dropped or closed. `frame` may hold `count` messages
   * (a batch joined for one write): they are delivered or dropped together, and counted as `count`.
   */
  deliver(frame: Buffer, now: number, count = 1): boolean {
    if (this.closed) return false;
    const held = this.sink.buffered();
    const buffered = this.queuedBytes + held;
    if (this.pendingDrops > 0) {
      // Once dropping, keep dropping until the buffer has drained to half: the loss is one contiguous gap,
      // and the notice marks where it is in the stream.
      if (buffered > this.limits.limitBytes / 2) return this.drop(now, count);
      this.flushNotice(now);
    }
    if (buffered + frame.length > this.limits.limitBytes) return this.drop(now, count);
    if (this.queuedBytes === 0 && held < IN_FLIGHT_BYTES) this.sink.write(frame, true);
    else this.enqueue(frame);
    this.delivered += count;
    return true;
  }

  /** True when a joined batch of `bytes` may be delivered whole: at most half the send buffer. */
  takesJoined(bytes: number): boolean {
    return bytes <= this.limits.limitBytes / 2;
  }

  /** Write a message outside the policy (heartbeat): skipped when the buffer is full, since data is pending anyway. */
  deliverControl(frame: Buffer, now: number): void {
    if (this.closed) return;
    if (this.buffered() + frame.length > this.limits.limitBytes) return;
    if (this.pendingDrops > 0 && this.buffered() <= this.limits.limitBytes / 2) this.flushNotice(now);
    this.send(frame);
  }

  /** A streamer message (waiting notice) outside the policy, framed for this client's transport. */
  notice(message: Buffer, now: number): void {
    if (this.closed) return;
    this.deliverControl(this.sink.frame(message), now);
  }

  /**
   * Hands queued frames to the socket while it has room: on the socket's 'drain', and from sweep(). They are
   * not held for the write batch: the kernel takes what it has room for at once, so a client that reads fast
   * is fed as fast as it reads, not IN_FLIGHT_BYTES per event-loop turn.
   */
  pump(): void {
    if (this.closed) return;
    const q = this.queue;
    while (this.head < q.length && this.sink.buffered() < IN_FLIGHT_BYTES) {
      const frame = q[this.head];
      q[this.head++] = EMPTY;
      this.queuedBytes -= frame.length;
      this.sink.write(frame, false);
    }
    if (this.head === q.length) this.clearQueue();
  }

  /** Periodic check, so a client is notified when it can receive again even when no new message arrives. */
  sweep(now: number): void {
    if (this.closed) return;
    if (this.queuedBytes > 0) this.pump();
    if (this.pendingDrops > 0 && this.buffered() <= this.limits.limitBytes / 2) this.flushNotice(now);
  }

  /** Closes the connection after what is queued for it (shutdown, failed resume). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    const q = this.queue;
    for (let i = this.head; i < q.length; i++) this.sink.write(q[i], true);
    this.clearQueue();
    this.closed = true;
    this.sink.close(code, reason);
  }

  /** The connection is gone: let go of what is queued for it. */
  release(): void {
    this.closed = true;
    this.clearQueue();
  }

  private send(frame: Buffer): void {
    if (this.queuedBytes === 0 && this.sink.buffered() < IN_FLIGHT_BYTES) this.sink.write(frame, true);
    else this.enqueue(frame);
  }

  private enqueue(frame: Buffer): void {
    this.queue.push(frame);
    this.queuedBytes += frame.length;
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
  }

  private drop(now: number, count: number): false {
    this.pendingDrops += count;
    this.droppedTotal += count;
    this.events.dropped(this, count);
    if (this.countDrops(now, count) > this.limits.maxDropped) this.disconnectSlow(now);
    return false;
  }

  /** Counts `count` drops in the window; returns the drops within it. */
  private countDrops(now: number, count: number): number {
    const bucketMs = this.limits.windowMs / BUCKETS;
    const at = Math.floor(now / bucketMs);
    let drops = this.drops;
    if (drops === null) {
      drops = new Uint32Array(BUCKETS);
      this.drops = drops;
      this.bucketAt = at;
    }
    if (at > this.bucketAt) {
      for (let b = this.bucketAt + 1; b <= at && b <= this.bucketAt + BUCKETS; b++) drops[b % BUCKETS] = 0;
      this.bucketAt = at;
    }
    drops[this.bucketAt % BUCKETS] += count;
    let n = 0;
    for (let i = 0; i < BUCKETS; i++) n += drops[i];
    return n;
  }

  private flushNotice(now: number): void {
    const count = this.pendingDrops;
    this.pendingDrops = 0;
    this.send(this.sink.frame(droppedMessage(count, now, "send buffer full")));
  }

  /**
   * What is still queued is let go, so the last notice and the close frame are right behind what the socket
   * already holds (at most IN_FLIGHT_BYTES and a frame).
   */
  private disconnectSlow(now: number): void {
    const windowSecs = Math.round(this.limits.windowMs / 1000);
    const discarded = this.queue.length - this.head;
    if (discarded > 0) {
      this.droppedTotal += discarded;
      this.events.dropped(this, discarded);
    }
    const count = this.pendingDrops + discarded;
    this.clearQueue();
    this.pendingDrops = 0;
    this.sink.write(this.sink.frame(droppedMessage(count, now, "client too slow, disconnecting")), true);
    this.events.slowDisconnect(this);
    this.closed = true;
    this.sink.close(
      CLOSE_TOO_SLOW,
      `too slow: more than ${this.limits.maxDropped} messages dropped in ${windowSecs} s`,
    );
  }
}

const EMPTY = Buffer.alloc(0);
