/**
 * Stream clients for the failure tests and the soak: each keeps the (source.url, cert_index) of every certificate it
 * received, and resumes from its last cursor when cut off, as a well-behaved certstream client does (WebSocket:
 * `?since=` the last heartbeat's cursor; SSE: Last-Event-ID, as EventSource does). Plus a watch of the ingester's
 * progress, for measuring stalls.
 */
import WebSocket from "ws";
import { sseCollect } from "../services/streamer/test/clients.ts";

// biome-ignore lint/suspicious/noExplicitAny: certstream messages, read field by field
type Msg = any;

const certKeyOf = (m: Msg): string | null =>
  m?.message_type === "certificate_update" ? `${m.data.source.url}#${m.data.cert_index}` : null;

/** Holds the keys a client received and answers what of an expected set it lacks. */
export class Received {
  readonly keys = new Set<string>();
  readonly arrivals: number[] = [];
  reconnects = 0;

  add(m: Msg): void {
    const k = certKeyOf(m);
    if (k === null) return;
    this.keys.add(k);
    this.arrivals.push(Date.now());
  }

  has(expected: Set<string>): boolean {
    for (const k of expected) if (!this.keys.has(k)) return false;
    return true;
  }

  missing(expected: Set<string>): string[] {
    return [...expected].filter((k) => !this.keys.has(k));
  }
}

/**
 * A WebSocket client that reconnects with `?since=<cursor of the last heartbeat>` when cut off; `since` (a cursor
 * or a timestamp) is where its first connection starts.
 */
export class ResumingWs extends Received {
  readonly opened: Promise<void>;
  private cursor: string | null = null;
  private closed = false;
  private socket: WebSocket | null = null;
  private readonly url: string;

  constructor(url: string, since?: string) {
    super();
    this.url = url;
    this.cursor = since ?? null;
    this.opened = this.connect();
  }

  private connect(): Promise<void> {
    const target = this.cursor ? `${this.url}?since=${encodeURIComponent(this.cursor)}` : this.url;
    const socket = new WebSocket(target);
    this.socket = socket;
    socket.on("message", (d) => {
      const m = JSON.parse(String(d));
      if (m.message_type === "heartbeat" && m.cursor) this.cursor = m.cursor;
      this.add(m);
    });
    socket.on("close", () => {
      if (this.closed) return;
      this.reconnects++;
      setTimeout(() => void this.connect().catch(() => undefined), 500);
    });
    socket.on("error", () => undefined);
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}

/** An SSE client that reconnects with Last-Event-ID (as EventSource does) when the stream ends. */
export class ResumingSse extends Received {
  private closed = false;
  private current: ReturnType<typeof sseCollect> | null = null;
  private seen = 0;
  private readonly url: string;
  private lastId: string | null = null;

  /** `since`: where the first connection starts (a cursor or a timestamp), as `?since=` does. */
  constructor(url: string, since?: string) {
    super();
    this.url = url;
    this.connect(since);
  }

  private connect(since?: string): void {
    const first = since
      ? `${this.url}${this.url.includes("?") ? "&" : "?"}since=${encodeURIComponent(since)}`
      : this.url;
    const c = sseCollect(this.lastId ? this.url : first, this.lastId ? { "last-event-id": this.lastId } : {});
    this.current = c;
    this.seen = 0;
    const drain = setInterval(() => {
      for (; this.seen < c.events.length; this.seen++) this.add(c.events[this.seen].data);
      this.lastId = c.lastId() ?? this.lastId;
    }, 200);
    void c.ended.then(() => {
      clearInterval(drain);
      for (; this.seen < c.events.length; this.seen++) this.add(c.events[this.seen].data);
      this.lastId = c.lastId() ?? this.lastId;
      if (this.closed) return;
      this.reconnects++;
      setTimeout(() => this.connect(), 500);
    });
  }

  close(): void {
    this.closed = true;
    this.current?.close();
  }
}

/**
 * Samples the ingester's committed positions every 250 ms: the longest time between two moves (a stall counts
 * once progress resumes, so the idle time after the logs stop growing is not one).
 */
export class ProgressWatch {
  private readonly timer: NodeJS.Timeout;
  private last = -1;
  private lastMove = Date.now();
  private longest = 0;

  constructor(url: string) {
    this.timer = setInterval(async () => {
      try {
        const res = await fetch(`${url}/api/logs`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { logs: { position: number | null }[] };
        const sum = body.logs.reduce((n, l) => n + (l.position ?? 0), 0);
        if (sum > this.last) {
          const now = Date.now();
          if (this.last >= 0) this.longest = Math.max(this.longest, now - this.lastMove);
          this.last = sum;
          this.lastMove = now;
        }
      } catch {
        // the ingester does not answer (held, busy): no progress seen
      }
    }, 250);
  }

  longestStallMs(): number {
    return this.longest;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The longest interval between consecutive arrivals (ms). */
export function longestGap(arrivals: number[]): number {
  let gap = 0;
  for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i] - arrivals[i - 1]);
  return gap;
}
