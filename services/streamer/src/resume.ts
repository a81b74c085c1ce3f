/**
 * Resume: a client that comes back with a cursor (SSE Last-Event-ID, WebSocket ?since=) first gets what it
 * missed from a temporary Kafka reader of its own, then joins the shared live feed with no gap.
 *
 * The switch is exact because both run on this event loop: the client is caught up when, for every partition,
 * the resume reader has handed on everything below the live feed's position (or below the high watermark taken
 * when the resume started, for a partition the live feed has not delivered anything from yet). At that moment
 * the client is added to the live feed, with `minOffsets` = the reader's position, so a live record the reader
 * already delivered is not sent twice. A message can still repeat across a reconnect (the cursor of an SSE
 * event is the position after it; a WebSocket heartbeat cursor may be up to one heartbeat old).
 */
import type { CertsReader, CertsRecord, CertsSource } from "./certs-source.ts";
import type { StreamClient } from "./client.ts";
import { cursorBefore, decodeCursor, encodeCursor, type Position } from "./cursor.ts";
import { entryKeys, type Fanout } from "./fanout.ts";
import { sseEvent, withoutId, wsTextFrame } from "./frames.ts";
import { heartbeatMessage, renderFormat } from "./render.ts";

export interface ResumeObserver {
  /** `from`: served from the replay buffer in memory, or by a Kafka reader. */
  caughtUp(client: StreamClient, replayed: number, ms: number, from: "memory" | "kafka"): void;
  failed(client: StreamClient, err: unknown): void;
}

const CHECK_INTERVAL_MS = 100;

export class ResumeSession {
  private readonly client: StreamClient;
  private readonly fanout: Fanout;
  private readonly source: CertsSource;
  private readonly observer: ResumeObserver;
  private readonly heartbeatMs: number;
  private readonly position: Position;
  private startHigh: Position = new Map();
  private reader: CertsReader | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastSent = Date.now();
  private done = false;
  private replayed = 0;
  private readonly startedAt = Date.now();
  private fromMemory = false;
  private nextSeq = 0;
  private pumpTimer: NodeJS.Timeout | null = null;

  constructor(opts: {
    client: StreamClient;
    start: Position;
    fanout: Fanout;
    source: CertsSource;
    observer: ResumeObserver;
    heartbeatMs: number;
  }) {
    this.client = opts.client;
    this.fanout = opts.fanout;
    this.source = opts.source;
    this.observer = opts.observer;
    this.heartbeatMs = opts.heartbeatMs;
    this.position = new Map(opts.start);
  }

  async start(): Promise<void> {
    const replay = this.fanout.replay;
    if (replay?.covers(this.position, this.fanout.position)) {
      this.fromMemory = true;
      this.nextSeq = replay.oldestSeq();
      this.timer = setInterval(() => this.tick(), CHECK_INTERVAL_MS);
      this.pump();
      return;
    }
    await this.startKafka();
  }

  /**
   * Replay from the fan-out's replay buffer, in publish order, at the client's pace; when every published
   * record has been considered the client joins the live feed (same event loop: nothing in between).
   * If the client is so slow that the buffer evicts what it has not had yet, continue from Kafka.
   */
  private pump(): void {
    this.pumpTimer = null;
    const replay = this.fanout.replay;
    if (this.done || replay === null) return;
    const c = this.client;
    if (c.closed) {
      this.finish();
      return;
    }
    const now = Date.now();
    while (this.nextSeq < replay.nextSeq) {
      if (!c.hasRoom()) {
        this.pumpTimer = setTimeout(() => this.pump(), 10);
        return;
      }
      const rec = replay.get(this.nextSeq);
      if (rec === undefined) {
        this.fromMemory = false;
        void this.startKafka();
        return;
      }
      this.nextSeq++;
      if (rec.offset < (this.position.get(rec.partition) ?? 0)) continue;
      this.position.set(rec.partition, rec.offset + 1);
      if (c.filter !== null) {
        if (rec.keys === null) rec.keys = entryKeys(rec.entry);
        if (!c.filter.matches(rec.keys)) continue;
      }
      const frame = this.fanout.replayFrame(rec, c.format, c.transport);
      if (frame === null) continue;
      this.send(frame, now, rec.partition, rec.offset, rec.cursor);
      this.lastSent = now;
      this.replayed++;
    }
    c.minOffsets = null;
    this.fanout.add(c);
    this.observer.caughtUp(c, this.replayed, Date.now() - this.startedAt, "memory");
    this.finish();
  }

  private async startKafka(): Promise<void> {
    try {
      this.startHigh = await this.source.highWatermarks();
      for (const p of this.startHigh.keys()) if (!this.position.has(p)) this.position.set(p, 0);
      if (this.checkCaughtUp()) return;
      this.reader = await this.source.openReader(
        new Map(this.position),
        (r) => this.onRecord(r),
        () => this.done || this.client.hasRoom(),
        (partition, next) => {
          if (this.done) return;
          if (next > (this.position.get(partition) ?? 0)) this.position.set(partition, next);
          this.checkCaughtUp();
        },
      );
      if (this.done) await this.reader.stop();
      else this.timer ??= setInterval(() => this.tick(), CHECK_INTERVAL_MS);
    } catch (err) {
      this.finish();
      this.observer.failed(this.client, err);
    }
  }

  /** The client went away before catching up. */
  cancel(): void {
    this.finish();
  }

  private onRecord(r: CertsRecord): void {
    if (this.done || this.client.closed) return;
    if (r.offset < (this.position.get(r.partition) ?? 0)) return;
    this.position.set(r.partition, r.offset + 1);
    const c = this.client;
    if (r.entry.leaf !== null && (c.filter === null || c.filter.matches(entryKeys(r.entry)))) {
      try {
        const payload = renderFormat(r.entry, c.format);
        const now = Date.now();
        const frame =
          c.transport === "ws" ? wsTextFrame(payload) : sseEvent(payload, encodeCursor(this.position));
        this.send(frame, now, r.partition, r.offset, this.position);
        this.lastSent = now;
        this.replayed++;
      } catch {
        // counted by the live feed when it renders the same entry; a replay skips it
      }
    }
    this.checkCaughtUp();
  }

  /**
   * Delivers a replayed record. A record the client drops starts its gap (see StreamClient.gapCursor) at the
   * position before it; `after` is the position (or cursor) after the record.
   */
  private send(
    frame: Buffer,
    now: number,
    partition: number,
    offset: number,
    after: Position | string,
  ): void {
    const c = this.client;
    if (c.deliver(c.gapCursor !== null && c.transport === "sse" ? withoutId(frame) : frame, now)) return;
    if (c.gapCursor === null && !c.closed)
      c.gapCursor = cursorBefore(typeof after === "string" ? decodeCursor(after) : after, partition, offset);
  }

  private tick(): void {
    if (this.done) return;
    if (this.client.closed) {
      this.finish();
      return;
    }
    if (!this.fromMemory && this.checkCaughtUp()) return;
    const now = Date.now();
    this.client.sweep(now);
    if (now - this.lastSent >= this.heartbeatMs) {
      const msg = heartbeatMessage(now, null);
      this.client.deliverControl(
        this.client.transport === "ws" ? wsTextFrame(msg) : sseEvent(msg, null),
        now,
      );
      this.lastSent = now;
    }
  }

  private checkCaughtUp(): boolean {
    if (this.done) return true;
    const live = this.fanout.position;
    const partitions = new Set([...live.keys(), ...this.startHigh.keys()]);
    for (const p of partitions) {
      const target = live.get(p) ?? this.startHigh.get(p) ?? 0;
      if ((this.position.get(p) ?? 0) < target) return false;
    }
    this.client.minOffsets = new Map(this.position);
    if (!this.client.closed) this.fanout.add(this.client);
    this.observer.caughtUp(this.client, this.replayed, Date.now() - this.startedAt, "kafka");
    this.finish();
    return true;
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    const r = this.reader;
    this.reader = null;
    if (r) void r.stop();
  }
}
