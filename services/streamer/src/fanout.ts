/**
 * The shared live feed: every certificate read from Kafka is published here once. For each format with at
 * least one live client it is rendered once, framed once per transport, and the same Buffer is written to
 * every matching client. The fan-out also tracks the stream position (the resume cursor of the last message).
 *
 * Publishing never holds the event loop for long: a burst to thousands of clients is fanned out a record at a
 * time in slices of SLICE_MS, and between slices the loop serves I/O (probes, scrapes, clients' drains).
 * Records wait in an intake queue meanwhile; `hasRoom()` tells the Kafka reader to wait (Kafka, not memory, is
 * where a backlog waits). Everything that says where the stream is (position, cursor, replay buffer, newest)
 * follows what has been fanned out, so a resume still switches to the live feed exactly.
 */
import type { CertificateEntry } from "@certstream/schema";
import type { StreamClient } from "./client.ts";
import { cursorBefore, encodeCursor, type Position } from "./cursor.ts";
import { FilterIndex } from "./filter-index.ts";
import type { EntryKeys } from "./filters.ts";
import { sseEvent, withoutId, wsTextFrame } from "./frames.ts";
import { heartbeatMessage, keepPrecerts, notePrecert, renderFormat } from "./render.ts";
import { ReplayBuffer, type ReplayRecord } from "./replay-buffer.ts";
import { baseStream, STREAM_FORMATS, type StreamFormat } from "./settings.ts";

export interface FanoutObserver {
  delivered(format: StreamFormat, count: number): void;
  renderFailed(format: StreamFormat, entry: CertificateEntry, err: unknown): void;
  /** A record given with its produce time has been queued to every client (`ageMs` since it was produced). */
  fannedOut?(ageMs: number): void;
}

/** Clients of one format: unfiltered ones in plain sets, filtered ones in an index per transport. */
interface FormatClients {
  ws: Set<StreamClient>;
  sse: Set<StreamClient>;
  wsFiltered: FilterIndex;
  sseFiltered: FilterIndex;
}

function formatClients(): FormatClients {
  return { ws: new Set(), sse: new Set(), wsFiltered: new FilterIndex(), sseFiltered: new FilterIndex() };
}

export function entryKeys(entry: CertificateEntry): EntryKeys {
  const leaf = entry.leaf;
  return {
    domains: leaf ? leaf.all_domains.map((d) => d.toLowerCase()) : [],
    issuer: leaf ? leaf.issuer.aggregated.toLowerCase() : "",
    logId: entry.log.id.toLowerCase(),
    logName: entry.log.name.toLowerCase(),
    logUrl: entry.log.url.toLowerCase(),
  };
}

/** A record waiting to be fanned out, or (entry null) a position past offsets without records. */
interface Intake {
  entry: CertificateEntry | null;
  partition: number;
  offset: number;
  /** When the record was produced (ms; its Kafka timestamp), 0 when unknown. */
  producedAt: number;
}

/** The longest the fan-out holds the event loop at once (it may run over by one record's fan-out). */
const SLICE_MS = 10;
/** Records the intake may hold before the Kafka reader is asked to wait. */
const INTAKE_MAX = 1000;

export class Fanout {
  /** Next offset to deliver, per partition of the certs topic. */
  readonly position: Position = new Map();
  /** Next offset the intake takes, per partition (ahead of `position` while records wait). */
  private readonly accepted: Position = new Map();
  private readonly intake: Intake[] = [];
  private intakeHead = 0;
  private sliceEnd = 0;
  private sliceScheduled = false;
  private readonly clients: Record<StreamFormat, FormatClients> = {
    lite: formatClients(),
    full: formatClients(),
    domains: formatClients(),
    lite_v2: formatClients(),
    full_v2: formatClients(),
    domains_v2: formatClients(),
  };
  private readonly observer: FanoutObserver;
  private cursorCache: string | null = null;
  private floor: Position = new Map();
  private readonly latest: CertificateEntry[] = [];
  /** Live clients with a filter: match keys are built only when there is one. */
  private filtered = 0;
  /** Certificates published, for the message rate in /api/stats. */
  published = 0;

  private readonly latestSize: number;
  /** Recent records for resumes from memory; null when streamer.replay_buffer_size is 0. */
  readonly replay: ReplayBuffer | null;

  constructor(observer: FanoutObserver, latestSize = 25, replaySize = 0) {
    this.observer = observer;
    this.latestSize = latestSize;
    this.replay = replaySize > 0 ? new ReplayBuffer(replaySize) : null;
  }

  add(client: StreamClient): void {
    const g = this.clients[client.format];
    if (client.format !== baseStream(client.format)) keepPrecerts();
    if (client.filter === null) {
      g[client.transport].add(client);
      return;
    }
    const index = client.transport === "ws" ? g.wsFiltered : g.sseFiltered;
    if (index.has(client)) return;
    index.add(client);
    this.filtered++;
  }

  remove(client: StreamClient): void {
    const g = this.clients[client.format];
    if (client.filter === null) {
      g[client.transport].delete(client);
      return;
    }
    const index = client.transport === "ws" ? g.wsFiltered : g.sseFiltered;
    const before = index.size;
    index.remove(client);
    if (index.size < before) this.filtered--;
  }

  *all(): Iterable<StreamClient> {
    for (const f of STREAM_FORMATS) {
      const g = this.clients[f];
      yield* g.ws;
      yield* g.sse;
      yield* g.wsFiltered.all();
      yield* g.sseFiltered.all();
    }
  }

  count(format: StreamFormat, transport?: "ws" | "sse"): number {
    const c = this.clients[format];
    const ws = c.ws.size + c.wsFiltered.size;
    const sse = c.sse.size + c.sseFiltered.size;
    return transport === "ws" ? ws : transport === "sse" ? sse : ws + sse;
  }

  /**
   * Where the live reader started, per partition (high watermarks read before it joined, so never after its
   * real start): cursors name every partition, also those the live feed has delivered nothing from yet, and a
   * resume never reads a quiet partition from its beginning.
   */
  setFloor(floor: Position): void {
    this.floor = floor;
    this.cursorCache = null;
  }

  cursor(): string {
    if (this.cursorCache === null) {
      let pos = this.position;
      if (this.floor.size > 0) {
        pos = new Map(this.floor);
        for (const [p, o] of this.position) pos.set(p, o);
      }
      this.cursorCache = encodeCursor(pos);
    }
    return this.cursorCache;
  }

  /** True once a cursor can be given (a record was delivered, or the live reader's start is known). */
  hasCursor(): boolean {
    return this.position.size > 0 || this.floor.size > 0;
  }

  /** The live reader went past offsets without records (transaction markers): the position follows. */
  advance(partition: number, next: number): void {
    const cur = this.accepted.get(partition);
    if (cur !== undefined && next <= cur) return;
    this.accepted.set(partition, next);
    this.intake.push({ entry: null, partition, offset: next, producedAt: 0 });
    this.run(Date.now());
  }

  /** False while the intake is full: the live reader waits (the backlog stays in Kafka, shown as lag). */
  hasRoom(): boolean {
    return this.intake.length - this.intakeHead < INTAKE_MAX;
  }

  /** Records taken but not fanned out yet. */
  get backlog(): number {
    return this.intake.length - this.intakeHead;
  }

  /** The newest certificates (oldest first), for /latest.json and /example.json. */
  newest(): readonly CertificateEntry[] {
    return this.latest;
  }

  /**
   * Takes a record from the live reader; it is fanned out now, or after what waits before it. `producedAt`:
   * its Kafka timestamp (ms), for the fanned-out age; 0 when unknown.
   */
  publish(entry: CertificateEntry, partition: number, offset: number, now: number, producedAt = 0): void {
    const next = this.accepted.get(partition);
    if (next !== undefined && offset < next) return; // re-read after a rebalance: already taken
    this.accepted.set(partition, offset + 1);
    this.intake.push({ entry, partition, offset, producedAt });
    this.run(now);
  }

  /** Everything taken is fanned out before this returns (benchmarks, tests). */
  flush(): void {
    while (this.intakeHead < this.intake.length) this.step(Date.now());
    this.clearIntake();
  }

  /**
   * Fans out what waits, until the slice's time is up; the rest goes on in the next event-loop turn, after
   * the I/O that came meanwhile (setImmediate runs after the poll phase).
   */
  private run(now: number): void {
    if (!this.sliceScheduled) {
      this.sliceScheduled = true;
      this.sliceEnd = performance.now() + SLICE_MS;
      setImmediate(this.nextSlice);
    }
    while (this.intakeHead < this.intake.length && performance.now() < this.sliceEnd) this.step(now);
    if (this.intakeHead === this.intake.length) this.clearIntake();
  }

  private readonly nextSlice = (): void => {
    this.sliceScheduled = false;
    if (this.intakeHead < this.intake.length) this.run(Date.now());
  };

  private step(now: number): void {
    const item = this.intake[this.intakeHead];
    this.intake[this.intakeHead++] = DONE;
    if (item.entry === null) this.moveTo(item.partition, item.offset);
    else {
      this.fanOut(item.entry, item.partition, item.offset, now);
      if (item.producedAt > 0) this.observer.fannedOut?.(Date.now() - item.producedAt);
    }
  }

  private clearIntake(): void {
    this.intake.length = 0;
    this.intakeHead = 0;
  }

  private moveTo(partition: number, next: number): void {
    const cur = this.position.get(partition);
    if (cur !== undefined && next <= cur) return;
    this.position.set(partition, next);
    this.cursorCache = null;
  }

  /** The cursor just before the record at (partition, offset) of the live feed: where a gap in it starts. */
  private cursorBefore(partition: number, offset: number): string {
    const pos = new Map(this.floor);
    for (const [p, o] of this.position) pos.set(p, o);
    return cursorBefore(pos, partition, offset);
  }

  private fanOut(entry: CertificateEntry, partition: number, offset: number, now: number): void {
    const next = this.position.get(partition);
    if (next !== undefined && offset < next) return;
    this.position.set(partition, offset + 1);
    this.cursorCache = null;
    this.published++;
    if (entry.leaf === null) {
      // unparseable certificate: archived, not streamed
      this.replay?.noteSkipped(partition, offset);
      return;
    }
    this.latest.push(entry);
    if (this.latest.length > this.latestSize) this.latest.shift();
    notePrecert(entry);
    // Lower-cased match keys, built once per certificate and only when some client filters.
    const keys: EntryKeys | null = this.filtered > 0 ? entryKeys(entry) : null;
    this.replay?.push({ partition, offset, entry, cursor: this.cursor(), keys });
    for (const format of STREAM_FORMATS) {
      const group = this.clients[format];
      const wsCount = group.ws.size + group.wsFiltered.size;
      const sseCount = group.sse.size + group.sseFiltered.size;
      if (wsCount + sseCount === 0) continue;
      let payload: Buffer;
      try {
        payload = renderFormat(entry, format);
      } catch (err) {
        this.observer.renderFailed(format, entry, err);
        continue;
      }
      let n = 0;
      const send = (c: StreamClient, frame: Buffer) => {
        if (c.minOffsets !== null && offset < (c.minOffsets.get(partition) ?? 0)) return;
        // After its first gap an SSE client gets events without `id:`: its Last-Event-ID stays before the gap.
        if (c.deliver(c.gapCursor !== null && c.transport === "sse" ? withoutId(frame) : frame, now)) n++;
        else if (c.gapCursor === null && !c.closed) c.gapCursor = this.cursorBefore(partition, offset);
      };
      if (wsCount > 0) {
        const frame = wsTextFrame(payload);
        for (const c of group.ws) send(c, frame);
        if (group.wsFiltered.size > 0)
          group.wsFiltered.forEachMatch(keys as EntryKeys, (c) => send(c, frame));
      }
      if (sseCount > 0) {
        const frame = sseEvent(payload, this.cursor());
        for (const c of group.sse) send(c, frame);
        if (group.sseFiltered.size > 0)
          group.sseFiltered.forEachMatch(keys as EntryKeys, (c) => send(c, frame));
      }
      if (n > 0) this.observer.delivered(format, n);
    }
  }

  /** The frame of a replayed record for this client's format and transport (built once per record). */
  replayFrame(rec: ReplayRecord, format: StreamFormat, transport: "ws" | "sse"): Buffer | null {
    const key = `${format}/${transport}`;
    let frame = rec.frames.get(key);
    if (frame === undefined) {
      let payload: Buffer;
      try {
        payload = renderFormat(rec.entry, format);
      } catch {
        return null; // counted when the live feed rendered it
      }
      frame = transport === "ws" ? wsTextFrame(payload) : sseEvent(payload, rec.cursor);
      rec.frames.set(key, frame);
    }
    return frame;
  }

  /**
   * Heartbeat to every live client; carries the current cursor so an idle or filtered client can resume. A
   * client that missed records gets the cursor before its first gap instead: the current one would skip them.
   */
  heartbeat(now: number): void {
    const cursor = this.hasCursor() ? this.cursor() : null;
    const msg = heartbeatMessage(now, cursor);
    const frames = { ws: wsTextFrame(msg), sse: sseEvent(msg, cursor) };
    for (const c of this.all()) {
      if (c.gapCursor === null) c.deliverControl(frames[c.transport], now);
      else c.deliverControl(heartbeatFrame(now, c.gapCursor, c.transport), now);
    }
  }

  sweep(now: number): void {
    for (const c of this.all()) c.sweep(now);
  }
}

function heartbeatFrame(now: number, cursor: string, transport: "ws" | "sse"): Buffer {
  const msg = heartbeatMessage(now, cursor);
  return transport === "ws" ? wsTextFrame(msg) : sseEvent(msg, cursor);
}

const DONE: Intake = { entry: null, partition: -1, offset: -1, producedAt: 0 };
