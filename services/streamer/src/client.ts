/**
 * One connected stream client (WebSocket or SSE) and its slow-client policy.
 *
 * The send buffer is the socket's own write queue (bytes written but not yet accepted by the kernel), bounded
 * by `limitBytes`. A frame that does not fit is dropped and counted, and so is every frame after it until the
 * buffer has drained to half; then the client gets one `{"message_type":"dropped","count":N}` notice. A client that keeps dropping for
 * `disconnectMs` gets the notice and is closed with 4008. So memory per client stays under the limit plus one
 * frame, whatever the client does.
 */
import type { Position } from "./cursor.ts";
import type { ClientFilter } from "./filters.ts";
import { droppedMessage } from "./render.ts";
import type { StreamFormat } from "./settings.ts";

export type Transport = "ws" | "sse";

export interface ClientSink {
  /** Bytes queued for this client and not yet taken by the kernel. */
  buffered(): number;
  /** Write one complete frame (already framed for the transport). */
  write(frame: Buffer): void;
  /** Frame a streamer message (dropped notice) for this transport. */
  frame(message: Buffer): Buffer;
  /** Close the connection: WebSocket close code + reason; SSE ends the response. */
  close(code: number, reason: string): void;
}

export interface ClientEvents {
  dropped(client: StreamClient, count: number): void;
  slowDisconnect(client: StreamClient): void;
}

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TOO_SLOW = 4008;

export class StreamClient {
  readonly format: StreamFormat;
  readonly transport: Transport;
  readonly ip: string;
  readonly filter: ClientFilter | null;
  /** After a resume: offsets below these were already delivered by the resume reader. */
  minOffsets: Position | null = null;
  closed = false;
  /** Set by the server: releases what the connection holds (resume slot). */
  onClose: (() => void) | null = null;
  delivered = 0;
  droppedTotal = 0;
  private readonly sink: ClientSink;
  private readonly events: ClientEvents;
  private limitBytes: number;
  private disconnectMs: number;
  private pendingDrops = 0;
  private lagSince = 0;

  constructor(opts: {
    format: StreamFormat;
    transport: Transport;
    ip: string;
    filter: ClientFilter | null;
    sink: ClientSink;
    events: ClientEvents;
    limitBytes: number;
    disconnectMs: number;
  }) {
    this.format = opts.format;
    this.transport = opts.transport;
    this.ip = opts.ip;
    this.filter = opts.filter;
    this.sink = opts.sink;
    this.events = opts.events;
    this.limitBytes = opts.limitBytes;
    this.disconnectMs = opts.disconnectMs;
  }

  setLimits(limitBytes: number, disconnectMs: number): void {
    this.limitBytes = limitBytes;
    this.disconnectMs = disconnectMs;
  }

  /** Room for a burst (resume replay): not lagging and the buffer at most half full. */
  hasRoom(): boolean {
    return this.closed || (this.pendingDrops === 0 && this.sink.buffered() <= this.limitBytes / 2);
  }

  buffered(): number {
    return this.closed ? 0 : this.sink.buffered();
  }

  /** Returns true when the frame was queued, false when dropped or closed. */
  deliver(frame: Buffer, now: number): boolean {
    if (this.closed) return false;
    const buffered = this.sink.buffered();
    // Once dropping, keep dropping until the buffer has drained to half: the loss is one contiguous gap,
    // and the notice marks where it is in the stream.
    if (this.pendingDrops > 0 && buffered <= this.limitBytes / 2) this.flushNotice(now);
    if (this.pendingDrops > 0 || buffered + frame.length > this.limitBytes) {
      this.pendingDrops++;
      this.droppedTotal++;
      this.events.dropped(this, 1);
      if (this.lagSince === 0) this.lagSince = now;
      else if (now - this.lagSince >= this.disconnectMs) this.disconnectSlow(now);
      return false;
    }
    this.sink.write(frame);
    this.delivered++;
    return true;
  }

  /** Write a message outside the policy (heartbeat): skipped when the buffer is full, since data is pending anyway. */
  deliverControl(frame: Buffer, now: number): void {
    if (this.closed) return;
    if (this.sink.buffered() + frame.length > this.limitBytes) return;
    if (this.pendingDrops > 0 && this.sink.buffered() <= this.limitBytes / 2) this.flushNotice(now);
    this.sink.write(frame);
  }

  /** A streamer message (waiting notice) outside the policy, framed for this client's transport. */
  notice(message: Buffer, now: number): void {
    if (this.closed) return;
    this.deliverControl(this.sink.frame(message), now);
  }

  /** Periodic check, so a client is notified or disconnected even when no new message arrives. */
  sweep(now: number): void {
    if (this.closed || this.pendingDrops === 0) return;
    if (this.sink.buffered() <= this.limitBytes / 2) this.flushNotice(now);
    else if (now - this.lagSince >= this.disconnectMs) this.disconnectSlow(now);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close(code, reason);
  }

  private flushNotice(now: number): void {
    this.sink.write(this.sink.frame(droppedMessage(this.pendingDrops, now, "send buffer full")));
    this.pendingDrops = 0;
    this.lagSince = 0;
  }

  private disconnectSlow(now: number): void {
    const secs = Math.round((now - this.lagSince) / 1000);
    this.sink.write(
      this.sink.frame(droppedMessage(this.pendingDrops, now, "client too slow, disconnecting")),
    );
    this.pendingDrops = 0;
    this.events.slowDisconnect(this);
    this.close(CLOSE_TOO_SLOW, `too slow: send buffer full for ${secs} s`);
  }
}
