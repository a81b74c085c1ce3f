/**
 * The shared live feed: every certificate read from Kafka is published here once. For each format with at
 * least one live client it is rendered once, framed once per transport, and the same Buffer is written to
 * every matching client. The fan-out also tracks the stream position (the resume cursor of the last message).
 *
 * Records are fanned out in batches: the frames of consecutive records are joined once per format and
 * transport, and each client gets the batch in one write. The kernel's cost is mostly per write (~7 µs for a
 * loopback send here, whatever its size up to tens of KB), so a burst of 200 records to 1,000 clients costs
 * 1,000 writes of ~64 KB instead of 200,000 small ones (bench/fanout.bench.ts). Clients that need records one
 * at a time (filtered, resuming, or an SSE client past a gap) get them one at a time from the same batch.
 *
 * Publishing never holds the event loop for long: batches are fanned out in slices of SLICE_MS, a batch is
 * smaller the more clients there are (STEP_BYTES), and between slices the loop serves I/O (probes, scrapes,
 * clients' drains).
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

/** The longest the fan-out holds the event loop at once (it may run over by one batch's fan-out). */
const SLICE_MS = 10;
/**
 * A slice also ends once it has given a client this many bytes: a client is fed a turn at a time, and reads
 * and drains are served in between (a client in this process, or one whose kernel buffers are small, keeps up).
 */
const SLICE_BYTES = 128 * 1024;
/** The most bytes of one format a batch joins (one write to each client). */
const BATCH_MAX_BYTES = 64 * 1024;
/** The most records a batch joins (domains-only frames are small). */
const BATCH_MAX_RECORDS = 512;
/**
 * Bytes one batch may write over all its clients: a batch shrinks as clients grow, so that one batch's fan-out
 * stays a few tens of milliseconds (64 MiB is ~25 ms of loopback sends here).
 */
const STEP_BYTES = 64 * 1024 * 1024;

/** One record of a batch: its frames per format (index in STREAM_FORMATS), null where none was rendered. */
interface BatchRecord {
  partition: number;
  offset: number;
  producedAt: number;
  keys: EntryKeys | null;
  /** The cursor just before this record: where a client's gap starts if it misses it. */
  before: string;
  ws: readonly (Buffer | null)[];
  sse: readonly (Buffer | null)[];
}

/** A format's frames of a batch joined for one write: `count` messages; `before` the cursor before the first. */
interface Joined {
  frame: Buffer;
  count: number;
  before: string;
}
/** Records the intake may hold before the Kafka reader is asked to wait. */
const INTAKE_MAX = 1000;

export class Fanout {
  /** Next offset to deliver, per partition of the certs topic. */
  readonly position: Position = new Map();
  /** Next offset the intake takes, per partition (ahead of `position` while records wait). */
  private readonly accepted: Position = new Map();
  private readonly intake: Intake[] = [];
  private intakeHead = 0;
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
    this.schedule();
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

  /** Takes a record from the live reader; it is fanned out in the next event-loop turn, after what waits before it. */
  publish(entry: CertificateEntry, partition: number, offset: number, producedAt = 0): void {
    const next = this.accepted.get(partition);
    if (next !== undefined && offset < next) return; // re-read after a rebalance: already taken
    this.accepted.set(partition, offset + 1);
    this.intake.push({ entry, partition, offset, producedAt });
    this.schedule();
  }

  /** Everything taken is fanned out before this returns (benchmarks, tests). */
  flush(): void {
    while (this.intakeHead < this.intake.length) this.step(Date.now());
    this.clearIntake();
  }

  /**
   * The next slice runs in the next event-loop turn (setImmediate runs after the poll phase): the records of
   * one Kafka fetch, handed over one by one, are all in the intake by then and go out in one batch.
   */
  private schedule(): void {
    if (this.sliceScheduled) return;
    this.sliceScheduled = true;
    setImmediate(this.nextSlice);
  }

  private readonly nextSlice = (): void => {
    this.sliceScheduled = false;
    const end = performance.now() + SLICE_MS;
    let bytes = 0;
    while (this.intakeHead < this.intake.length && performance.now() < end && bytes < SLICE_BYTES)
      bytes += this.step(Date.now());
    if (this.intakeHead === this.intake.length) this.clearIntake();
    else this.schedule();
  };

  /**
   * Fans out one batch: the records that wait, up to the batch's limits. Returns the most bytes it gave a
   * client (the largest format's joined frames).
   */
  private step(now: number): number {
    const batch: BatchRecord[] = [];
    const bytes = new Float64Array(STREAM_FORMATS.length);
    const clients = this.liveClients();
    const maxBytes = Math.min(BATCH_MAX_BYTES, STEP_BYTES / Math.max(1, clients));
    let most = 0;
    while (this.intakeHead < this.intake.length && batch.length < BATCH_MAX_RECORDS) {
      const item = this.intake[this.intakeHead];
      this.intake[this.intakeHead++] = DONE;
      if (item.entry === null) this.moveTo(item.partition, item.offset);
      else {
        const rec = this.take(item);
        if (rec === null) continue;
        batch.push(rec);
        for (let f = 0; f < bytes.length; f++) {
          bytes[f] += (rec.ws[f]?.length ?? 0) + (rec.sse[f]?.length ?? 0);
          most = Math.max(most, bytes[f]);
        }
        if (most >= maxBytes) break;
      }
    }
    if (batch.length === 0) return 0;
    for (let f = 0; f < STREAM_FORMATS.length; f++) this.fanOut(batch, f, now);
    for (const rec of batch) if (rec.producedAt > 0) this.observer.fannedOut?.(Date.now() - rec.producedAt);
    return most;
  }

  private liveClients(): number {
    let n = 0;
    for (const f of STREAM_FORMATS) n += this.count(f);
    return n;
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

  /**
   * Moves the stream past a record and renders its frames for every format with clients; null when it is not
   * streamed (already delivered, or an unparseable certificate: archived, not streamed).
   */
  private take(item: Intake): BatchRecord | null {
    const { partition, offset } = item;
    const entry = item.entry as CertificateEntry;
    const next = this.position.get(partition);
    if (next !== undefined && offset < next) return null;
    const before = this.cursorBefore(partition, offset);
    this.position.set(partition, offset + 1);
    this.cursorCache = null;
    this.published++;
    if (entry.leaf === null) {
      this.replay?.noteSkipped(partition, offset);
      return null;
    }
    this.latest.push(entry);
    if (this.latest.length > this.latestSize) this.latest.shift();
    notePrecert(entry);
    // Lower-cased match keys, built once per certificate and only when some client filters.
    const keys: EntryKeys | null = this.filtered > 0 ? entryKeys(entry) : null;
    const cursor = this.cursor();
    this.replay?.push({ partition, offset, entry, cursor, keys });
    const rec: BatchRecord = {
      partition,
      offset,
      producedAt: item.producedAt,
      keys,
      before,
      ws: NO_FRAMES,
      sse: NO_FRAMES,
    };
    for (let f = 0; f < STREAM_FORMATS.length; f++) {
      const format = STREAM_FORMATS[f];
      const ws = this.count(format, "ws") > 0;
      const sse = this.count(format, "sse") > 0;
      if (!ws && !sse) continue;
      let payload: Buffer;
      try {
        payload = renderFormat(entry, format);
      } catch (err) {
        this.observer.renderFailed(format, entry, err);
        continue;
      }
      if (ws) rec.ws = withFrame(rec.ws, f, wsTextFrame(payload));
      if (sse) rec.sse = withFrame(rec.sse, f, sseEvent(payload, cursor));
    }
    return rec;
  }

  /** Delivers a batch to the clients of one format (index `f` in STREAM_FORMATS). */
  private fanOut(batch: BatchRecord[], f: number, now: number): void {
    const group = this.clients[STREAM_FORMATS[f]];
    let n = 0;
    if (group.ws.size + group.wsFiltered.size > 0) {
      const joined = join(batch, f, "ws");
      for (const c of group.ws)
        n +=
          c.minOffsets === null ? this.sendJoined(c, joined, batch, f, now) : this.sendEach(c, batch, f, now);
      if (group.wsFiltered.size > 0)
        for (const rec of batch)
          group.wsFiltered.forEachMatch(rec.keys as EntryKeys, (c) => {
            n += this.sendOne(c, rec, rec.ws[f], now);
          });
    }
    if (group.sse.size + group.sseFiltered.size > 0) {
      const joined = join(batch, f, "sse");
      for (const c of group.sse)
        n +=
          c.minOffsets === null && c.gapCursor === null
            ? this.sendJoined(c, joined, batch, f, now)
            : this.sendEach(c, batch, f, now);
      if (group.sseFiltered.size > 0)
        for (const rec of batch)
          group.sseFiltered.forEachMatch(rec.keys as EntryKeys, (c) => {
            n += this.sendOne(c, rec, rec.sse[f], now);
          });
    }
    if (n > 0) this.observer.delivered(STREAM_FORMATS[f], n);
  }

  /**
   * The whole batch in one write; returns the messages delivered. A batch too large for the client's send
   * buffer goes record by record (its drops stay per record).
   */
  private sendJoined(
    c: StreamClient,
    joined: Joined | null,
    batch: BatchRecord[],
    f: number,
    now: number,
  ): number {
    if (joined === null) return 0;
    if (!c.takesJoined(joined.frame.length)) return this.sendEach(c, batch, f, now);
    if (c.deliver(joined.frame, now, joined.count)) return joined.count;
    if (c.gapCursor === null && !c.closed) c.gapCursor = joined.before;
    return 0;
  }

  private sendEach(c: StreamClient, batch: BatchRecord[], f: number, now: number): number {
    const sse = c.transport === "sse";
    let n = 0;
    for (const rec of batch) n += this.sendOne(c, rec, sse ? rec.sse[f] : rec.ws[f], now);
    return n;
  }

  /** One record to one client; returns 1 when delivered. */
  private sendOne(c: StreamClient, rec: BatchRecord, frame: Buffer | null, now: number): number {
    if (frame === null) return 0;
    if (c.minOffsets !== null && rec.offset < (c.minOffsets.get(rec.partition) ?? 0)) return 0;
    // After its first gap an SSE client gets events without `id:`: its Last-Event-ID stays before the gap.
    if (c.deliver(c.gapCursor !== null && c.transport === "sse" ? withoutId(frame) : frame, now)) return 1;
    if (c.gapCursor === null && !c.closed) c.gapCursor = rec.before;
    return 0;
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
/** A record's frames before any is rendered (shared; replaced by its own array at the first frame). */
const NO_FRAMES: readonly (Buffer | null)[] = Object.freeze(STREAM_FORMATS.map(() => null));

function withFrame(frames: readonly (Buffer | null)[], f: number, frame: Buffer): (Buffer | null)[] {
  const own = frames === NO_FRAMES ? frames.slice() : (frames as (Buffer | null)[]);
  own[f] = frame;
  return own;
}

/** The frames of format `f` of a batch, joined; null when the batch has none for it. */
function join(batch: BatchRecord[], f: number, transport: "ws" | "sse"): Joined | null {
  const frames: Buffer[] = [];
  let before = "";
  for (const rec of batch) {
    const frame = transport === "ws" ? rec.ws[f] : rec.sse[f];
    if (frame === null) continue;
    if (frames.length === 0) before = rec.before;
    frames.push(frame);
  }
  if (frames.length === 0) return null;
  return { frame: frames.length === 1 ? frames[0] : Buffer.concat(frames), count: frames.length, before };
}
