/**
 * Lean stream clients for the soak: a thousand of them live in the soak process, so a client counts frames
 * and parses only what it must (heartbeats for the resume cursor, dropped notices), except the audited
 * sample, which also keeps the `source.url#cert_index` of every certificate it received. Each resumes when
 * cut off, as a well-behaved certstream client does (WebSocket: `?since=` the last heartbeat's cursor; SSE:
 * Last-Event-ID, as EventSource does). test/stream-clients.ts keeps every arrival, too much for 1,000 clients.
 */
import { type ClientRequest, get, type IncomingMessage } from "node:http";
import WebSocket from "ws";

export type StreamKind = "lite" | "full" | "domains";
export type Transport = "ws" | "sse";

const WS_PATH: Record<StreamKind, string> = { lite: "/", full: "/full-stream", domains: "/domains-only" };
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5_000;
// Enough of a frame to read its message_type without decoding the whole certificate.
const PREFIX_BYTES = 40;
const HEARTBEAT = '{"message_type":"heartbeat"';
const DROPPED = '{"message_type":"dropped"';
const OTHER = ['{"message_type":"waiting"', '{"message_type":"error"'];

interface CertMessage {
  message_type?: string;
  cursor?: string;
  count?: number;
  data?: { source?: { url?: string }; cert_index?: number };
}

/** What every soak client counts; `keys` only for the audited sample. */
export abstract class SoakClient {
  readonly transport: Transport;
  readonly stream: StreamKind;
  /** Certificate frames received (certificate_update or dns_entries). */
  certs = 0;
  /** Certificates the streamer told us it dropped (`dropped` notices). */
  dropped = 0;
  reconnects = 0;
  connected = false;
  /** `source.url#cert_index` of every certificate received; null for a counting-only client. */
  readonly keys: Set<string> | null;
  protected closed = false;
  #failures = 0;

  constructor(transport: Transport, stream: StreamKind, audited: boolean) {
    this.transport = transport;
    this.stream = stream;
    this.keys = audited ? new Set() : null;
  }

  /** Stops for good (no reconnect). */
  abstract close(): void;

  /** Counts one message; returns the heartbeat's cursor when it carries one. */
  protected onMessage(prefix: string, whole: () => string): string | null {
    if (prefix.startsWith(HEARTBEAT)) return (JSON.parse(whole()) as CertMessage).cursor ?? null;
    if (prefix.startsWith(DROPPED)) {
      this.dropped += (JSON.parse(whole()) as CertMessage).count ?? 0;
      return null;
    }
    if (OTHER.some((p) => prefix.startsWith(p))) return null;
    this.certs++;
    if (this.keys) {
      const m = JSON.parse(whole()) as CertMessage;
      if (m.message_type === "certificate_update")
        this.keys.add(`${m.data?.source?.url}#${m.data?.cert_index}`);
    }
    return null;
  }

  /** Delay before the next connection attempt: grows while attempts fail, back to the minimum once one works. */
  protected nextDelay(ok: boolean): number {
    this.#failures = ok ? 0 : this.#failures + 1;
    return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.#failures);
  }

  missing(expected: Set<string>): string[] {
    if (!this.keys) return [];
    const out: string[] = [];
    for (const k of expected) if (!this.keys.has(k)) out.push(k);
    return out;
  }
}

/** WebSocket client; the first connection may start from `since` (a cursor or unix seconds). */
export class SoakWs extends SoakClient {
  readonly #base: string;
  #cursor: string | null;
  #socket: WebSocket | null = null;

  constructor(streamerUrl: string, stream: StreamKind, audited: boolean, since: string | null = null) {
    super("ws", stream, audited);
    this.#base = `${streamerUrl.replace(/^http/, "ws")}${WS_PATH[stream]}`;
    this.#cursor = since;
    this.#connect();
  }

  #connect(): void {
    const url = this.#cursor ? `${this.#base}?since=${encodeURIComponent(this.#cursor)}` : this.#base;
    const socket = new WebSocket(url, { perMessageDeflate: false });
    this.#socket = socket;
    let opened = false;
    socket.on("open", () => {
      opened = true;
      this.connected = true;
    });
    socket.on("message", (d: WebSocket.RawData) => {
      const buf = Buffer.isBuffer(d) ? d : Buffer.concat(Array.isArray(d) ? d : [Buffer.from(d)]);
      const cursor = this.onMessage(buf.toString("latin1", 0, PREFIX_BYTES), () => buf.toString("utf8"));
      if (cursor) this.#cursor = cursor;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.connected = false;
      if (this.closed) return;
      if (opened) this.reconnects++;
      setTimeout(() => this.closed || this.#connect(), this.nextDelay(opened));
    });
  }

  close(): void {
    this.closed = true;
    this.#socket?.terminate();
  }
}

/** SSE client (`/sse?stream=`), resuming with Last-Event-ID. */
export class SoakSse extends SoakClient {
  readonly #url: string;
  #lastId: string | null;
  #req: ClientRequest | null = null;
  #res: IncomingMessage | null = null;

  constructor(streamerUrl: string, stream: StreamKind, audited: boolean, since: string | null = null) {
    super("sse", stream, audited);
    this.#url = `${streamerUrl}/sse?stream=${stream}`;
    // The streamer takes Last-Event-ID or ?since= alike; the header is what EventSource sends.
    this.#lastId = since;
    this.#connect();
  }

  #connect(): void {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.#lastId) headers["last-event-id"] = this.#lastId;
    let opened = false;
    let ended = false;
    const retry = () => {
      this.connected = false;
      if (ended) return;
      ended = true;
      if (this.closed) return;
      if (opened) this.reconnects++;
      setTimeout(() => this.closed || this.#connect(), this.nextDelay(opened));
    };
    const req = get(this.#url, { headers }, (res) => {
      this.#res = res;
      if (res.statusCode !== 200) {
        res.resume();
        res.on("end", retry);
        return;
      }
      opened = true;
      this.connected = true;
      res.setEncoding("utf8");
      let buf = "";
      res.on("data", (chunk: string) => {
        buf += chunk;
        let start = 0;
        for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n", start)) {
          this.#onEvent(buf.slice(start, end));
          start = end + 2;
        }
        buf = buf.slice(start);
      });
      res.on("end", retry);
      res.on("close", retry);
    });
    req.on("error", retry);
    this.#req = req;
  }

  /** One event block: optional `id: ` line, then `data: ` (the streamer writes one data line per event). */
  #onEvent(block: string): void {
    let data = block;
    if (block.startsWith("id: ")) {
      const nl = block.indexOf("\n");
      this.#lastId = block.slice(4, nl);
      data = block.slice(nl + 1);
    }
    if (!data.startsWith("data: ")) return;
    this.onMessage(data.slice(6, 6 + PREFIX_BYTES), () => data.slice(6));
  }

  close(): void {
    this.closed = true;
    this.#req?.destroy();
    this.#res?.destroy();
  }
}

/**
 * The mix of `n` clients: the first `audited` are full-stream clients that keep their keys (three in four
 * WebSocket, the rest SSE); the others are WebSocket lite, full and domains-only, and SSE of every kind.
 */
export function connectClients(streamerUrl: string, n: number, audited: number, since: string): SoakClient[] {
  const out: SoakClient[] = [];
  for (let i = 0; i < Math.min(n, audited); i++)
    out.push(
      i % 4 === 3
        ? new SoakSse(streamerUrl, "full", true, since)
        : new SoakWs(streamerUrl, "full", true, since),
    );
  // Per 20 unaudited clients: 9 lite, 3 full, 4 domains-only over WebSocket; 2 lite, 1 full, 1 domains over SSE.
  const pattern: [Transport, StreamKind][] = [
    ...Array<[Transport, StreamKind]>(9).fill(["ws", "lite"]),
    ...Array<[Transport, StreamKind]>(3).fill(["ws", "full"]),
    ...Array<[Transport, StreamKind]>(4).fill(["ws", "domains"]),
    ["sse", "lite"],
    ["sse", "lite"],
    ["sse", "full"],
    ["sse", "domains"],
  ];
  for (let i = out.length; i < n; i++) {
    const [transport, stream] = pattern[i % pattern.length];
    out.push(
      transport === "ws" ? new SoakWs(streamerUrl, stream, false) : new SoakSse(streamerUrl, stream, false),
    );
  }
  return out;
}

/** Totals over all clients, for the 10 s samples. */
export function clientTotals(clients: SoakClient[]): {
  certs: number;
  dropped: number;
  reconnects: number;
  connected: number;
} {
  let certs = 0;
  let dropped = 0;
  let reconnects = 0;
  let connected = 0;
  for (const c of clients) {
    certs += c.certs;
    dropped += c.dropped;
    reconnects += c.reconnects;
    if (c.connected) connected++;
  }
  return { certs, dropped, reconnects, connected };
}
