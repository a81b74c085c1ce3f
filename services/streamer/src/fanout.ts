/**
 * The shared live feed: every certificate read from Kafka is published here once. For each format with at
 * least one live client it is rendered once, framed once per transport, and the same Buffer is written to
 * every matching client. The fan-out also tracks the stream position (the resume cursor of the last message).
 */
import type { CertificateEntry } from "@certstream/schema";
import type { StreamClient } from "./client.ts";
import { encodeCursor, type Position } from "./cursor.ts";
import type { EntryKeys } from "./filters.ts";
import { sseEvent, wsTextFrame } from "./frames.ts";
import { heartbeatMessage, renderFormat } from "./render.ts";
import { STREAM_FORMATS, type StreamFormat } from "./settings.ts";

export interface FanoutObserver {
  delivered(format: StreamFormat, count: number): void;
  renderFailed(format: StreamFormat, entry: CertificateEntry, err: unknown): void;
}

interface FormatClients {
  ws: Set<StreamClient>;
  sse: Set<StreamClient>;
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

export class Fanout {
  /** Next offset to deliver, per partition of the certs topic. */
  readonly position: Position = new Map();
  private readonly clients: Record<StreamFormat, FormatClients> = {
    lite: { ws: new Set(), sse: new Set() },
    full: { ws: new Set(), sse: new Set() },
    domains: { ws: new Set(), sse: new Set() },
  };
  private readonly observer: FanoutObserver;
  private cursorCache: string | null = null;
  private readonly latest: CertificateEntry[] = [];
  /** Live clients with a filter: match keys are built only when there is one. */
  private filtered = 0;
  /** Certificates published, for the message rate in /api/stats. */
  published = 0;

  private readonly latestSize: number;

  constructor(observer: FanoutObserver, latestSize = 25) {
    this.observer = observer;
    this.latestSize = latestSize;
  }

  add(client: StreamClient): void {
    const set = this.clients[client.format][client.transport];
    if (set.has(client)) return;
    set.add(client);
    if (client.filter !== null) this.filtered++;
  }

  remove(client: StreamClient): void {
    if (this.clients[client.format][client.transport].delete(client) && client.filter !== null)
      this.filtered--;
  }

  *all(): Iterable<StreamClient> {
    for (const f of STREAM_FORMATS) {
      yield* this.clients[f].ws;
      yield* this.clients[f].sse;
    }
  }

  count(format: StreamFormat, transport?: "ws" | "sse"): number {
    const c = this.clients[format];
    return transport ? c[transport].size : c.ws.size + c.sse.size;
  }

  cursor(): string {
    this.cursorCache ??= encodeCursor(this.position);
    return this.cursorCache;
  }

  /** The newest certificates (oldest first), for /latest.json and /example.json. */
  newest(): readonly CertificateEntry[] {
    return this.latest;
  }

  publish(entry: CertificateEntry, partition: number, offset: number, now: number): void {
    const next = this.position.get(partition);
    if (next !== undefined && offset < next) return; // re-read after a rebalance: already delivered
    this.position.set(partition, offset + 1);
    this.cursorCache = null;
    this.published++;
    if (entry.leaf === null) return; // unparseable certificate: archived, not streamed
    this.latest.push(entry);
    if (this.latest.length > this.latestSize) this.latest.shift();
    // Lower-cased match keys, built once per certificate and only when some client filters.
    const keys: EntryKeys | null = this.filtered > 0 ? entryKeys(entry) : null;
    for (const format of STREAM_FORMATS) {
      const group = this.clients[format];
      if (group.ws.size + group.sse.size === 0) continue;
      let payload: Buffer;
      try {
        payload = renderFormat(entry, format);
      } catch (err) {
        this.observer.renderFailed(format, entry, err);
        continue;
      }
      let n = 0;
      if (group.ws.size > 0) {
        const frame = wsTextFrame(payload);
        for (const c of group.ws) {
          if (c.filter !== null && !c.filter.matches(keys as EntryKeys)) continue;
          if (c.minOffsets !== null && offset < (c.minOffsets.get(partition) ?? 0)) continue;
          if (c.deliver(frame, now)) n++;
        }
      }
      if (group.sse.size > 0) {
        const frame = sseEvent(payload, this.cursor());
        for (const c of group.sse) {
          if (c.filter !== null && !c.filter.matches(keys as EntryKeys)) continue;
          if (c.minOffsets !== null && offset < (c.minOffsets.get(partition) ?? 0)) continue;
          if (c.deliver(frame, now)) n++;
        }
      }
      if (n > 0) this.observer.delivered(format, n);
    }
  }

  /** Heartbeat to every live client; carries the current cursor so an idle or filtered client can resume. */
  heartbeat(now: number): void {
    const hasPosition = this.position.size > 0;
    const cursor = hasPosition ? this.cursor() : null;
    const msg = heartbeatMessage(now, cursor);
    const ws = wsTextFrame(msg);
    const sse = sseEvent(msg, cursor);
    for (const f of STREAM_FORMATS) {
      for (const c of this.clients[f].ws) c.deliverControl(ws, now);
      for (const c of this.clients[f].sse) c.deliverControl(sse, now);
    }
  }

  sweep(now: number): void {
    for (const c of this.all()) c.sweep(now);
  }
}
