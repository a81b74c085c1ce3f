/**
 * One client worker of bench/e2e-latency.bench.ts (a child process, forked with IPC): `clients` raw WebSocket
 * connections to the streamer. Frames are split by hand and never JSON-parsed: a certificate frame's cert_index
 * is read from the message's tail (`,"cert_index":N,...,"source":{...}}}`, see libs/certstream messages.ts),
 * marked in the client's bitmap of the window, and only sampled frames also read `seen` and
 * `submission_timestamp`. Pings are answered; a closed connection is recorded (close code) and re-opened
 * after a back-off, as a certstream client does (without resuming: what it missed counts as missed).
 */
import { connect, type Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { frameHeader, pongFrame } from "../../test/ws-frames.ts";
import type { ReadyMessage, WorkerConfig, WorkerReply, WorkerReport, WorkerRequest } from "./protocol.ts";

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5_000;
// Every message starts `{"message_type":"`; the byte after it tells the kind apart.
const TYPE_AT = 17;
const C = 0x63; // certificate_update
const H = 0x68; // heartbeat
const D = 0x64; // dns_entries, dropped
const R = 0x72;
const CERT_INDEX = Buffer.from('"cert_index":');
const SEEN = Buffer.from('"seen":');
const SUBMITTED = Buffer.from('"submission_timestamp":');

const cfg = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
// Every socket of this worker reads into this buffer; its callback consumes the bytes before the next read.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const target = new URL(cfg.url);

/** What the window counts; replaced by `start`. */
class Window {
  readonly from: number;
  readonly capacity: number;
  frames = 0;
  bytes = 0;
  duplicates = 0;
  outOfWindow = 0;
  unreadable = 0;
  heartbeats = 0;
  droppedNotices = 0;
  otherMessages = 0;
  reconnects = 0;
  readonly cutOff = new Set<number>();
  /** Clients connected when the window started. */
  readonly connectedAtStart = new Set<number>();
  readonly closeCodes: Record<string, number> = {};
  readonly handshakeFailures: Record<string, number> = {};
  readonly samples: number[] = [];
  readonly cpu = process.cpuUsage();

  constructor(from: number, capacity: number) {
    this.from = from;
    this.capacity = capacity;
  }
}

let win = new Window(0, 0);
let stopping = false;

class WsClient {
  readonly id: number;
  connected = false;
  /** One bit per cert_index of the window. */
  bitmap = new Uint8Array(0);
  received = 0;
  #socket: Socket | null = null;
  #pending: Buffer | null = null;
  #closeSeen = false;
  #everOpened = false;
  #failures = 0;

  constructor(id: number) {
    this.id = id;
  }

  /**
   * One connection attempt; resolves once it is settled (open, refused or failed). The handshake is written
   * by hand on a raw socket that reads into the worker's one read buffer (`onread`): no Buffer per chunk and
   * no stream machinery per read, which is most of a client's cost at thousands of reads per second.
   */
  connect(): Promise<void> {
    return new Promise((resolve) => {
      let handshake: Buffer | null = Buffer.alloc(0);
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        resolve();
      };
      const socket = connect({
        host: target.hostname,
        port: Number(target.port),
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            const data = buf as Buffer;
            if (handshake === null) {
              this.#onData(data, n);
              return true;
            }
            // Status line and headers first; what follows them is already WebSocket frames.
            handshake = Buffer.concat([handshake, data.subarray(0, n)]);
            const end = handshake.indexOf("\r\n\r\n");
            if (end < 0) return true;
            const status = handshake.toString("latin1", 9, 12);
            const rest = handshake.subarray(end + 4);
            handshake = null;
            if (status !== "101") {
              this.#failed(`http ${status}`);
              socket.destroy();
              settle();
              return false;
            }
            this.#opened(socket);
            settle();
            if (rest.length > 0) this.#onData(rest, rest.length);
            return true;
          },
        },
      });
      socket.on("connect", () => socket.write(this.#request()));
      socket.on("error", (err: NodeJS.ErrnoException) => {
        if (handshake === null) return;
        handshake = null;
        this.#failed(err.code ?? err.message);
        settle();
      });
      socket.on("close", () => {
        if (this.#socket === socket) this.#closed();
        else if (handshake !== null) {
          handshake = null;
          this.#failed("closed during the handshake");
        }
        settle();
      });
    });
  }

  #request(): string {
    const key = Buffer.from(`e2e${this.id}`.padEnd(16, "x").slice(0, 16)).toString("base64");
    return (
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: Upgrade\r\n` +
      `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`
    );
  }

  close(): void {
    this.#socket?.destroy();
  }

  #opened(socket: Socket): void {
    if (this.#everOpened) win.reconnects++;
    this.#everOpened = true;
    this.#failures = 0;
    this.#socket = socket;
    this.#pending = null;
    this.#closeSeen = false;
    this.connected = true;
  }

  #closed(): void {
    this.connected = false;
    this.#socket = null;
    if (stopping) return;
    if (!this.#closeSeen) count(win.closeCodes, "1006");
    win.cutOff.add(this.id);
    this.#failures = 1;
    this.#retry();
  }

  #failed(why: string): void {
    count(win.handshakeFailures, why);
    this.#failures++;
    this.#retry();
  }

  #retry(): void {
    if (stopping) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (this.#failures - 1));
    setTimeout(() => stopping || void this.connect(), delay);
  }

  /** Frames in data[0, n); `data` may be the shared read buffer, so a partial frame left over is copied. */
  #onData(data: Buffer, n0: number): void {
    const now = Date.now();
    win.bytes += n0;
    let buf = data;
    let n = n0;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, data.subarray(0, n0)]);
      n = buf.length;
      this.#pending = null;
    }
    let off = 0;
    for (;;) {
      const h = frameHeader(buf, off, n);
      if (h === null) break;
      const start = h.start;
      const end = start + h.len;
      if (end > n) break;
      const opcode = buf[off] & 0x0f;
      if (opcode === 1) this.#text(buf, start, end, now);
      else if (opcode === 8) {
        this.#closeSeen = true;
        count(win.closeCodes, h.len >= 2 ? String(buf.readUInt16BE(start)) : "1005");
        this.#socket?.end();
      } else if (opcode === 9) this.#socket?.write(pongFrame(buf.subarray(start, end)));
      off = end;
    }
    if (off < n) this.#pending = Buffer.from(buf.subarray(off, n));
  }

  #text(buf: Buffer, start: number, end: number, now: number): void {
    const kind = buf[start + TYPE_AT];
    if (kind === H) {
      win.heartbeats++;
      return;
    }
    if (kind === D && buf[start + TYPE_AT + 1] === R) {
      win.droppedNotices++;
      return;
    }
    if (kind !== C) {
      win.otherMessages++;
      return;
    }
    win.frames++;
    const at = buf.lastIndexOf(CERT_INDEX, end - CERT_INDEX.length);
    if (at < start) {
      win.unreadable++;
      return;
    }
    let p = at + CERT_INDEX.length;
    let index = 0;
    for (let c = buf[p]; c >= 0x30 && c <= 0x39 && p < end; c = buf[++p]) index = index * 10 + (c - 0x30);
    const rel = index - win.from;
    if (rel < 0 || rel >= win.capacity) {
      win.outOfWindow++;
      return;
    }
    const byte = rel >>> 3;
    const bit = 1 << (rel & 7);
    if (this.bitmap[byte] & bit) {
      win.duplicates++;
      return;
    }
    this.bitmap[byte] |= bit;
    this.received++;
    if ((this.id + index) % cfg.sampleEvery === 0)
      win.samples.push(index, now, secondsAt(buf, SEEN, p, end), secondsAt(buf, SUBMITTED, p, end));
  }
}

/** The number after `key` (float seconds) in buf[from, end), as ms; NaN when absent. */
function secondsAt(buf: Buffer, key: Buffer, from: number, end: number): number {
  const at = buf.indexOf(key, from);
  if (at < 0 || at >= end) return Number.NaN;
  let p = at + key.length;
  while (p < end && buf[p] !== 0x2c && buf[p] !== 0x7d) p++;
  return Number(buf.toString("latin1", at + key.length, p)) * 1000;
}

/** A masked pong frame (client frames must be masked; an all-zero mask leaves the payload as it is). */
function count(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

const clients = Array.from({ length: cfg.clients }, (_, i) => new WsClient(cfg.firstId + i));
const loop = monitorEventLoopDelay({ resolution: 10 });

function connectedCount(): number {
  let n = 0;
  for (const c of clients) if (c.connected) n++;
  return n;
}

function report(id: number, to: number): WorkerReport {
  const want = Math.max(0, Math.min(to, win.from + win.capacity) - win.from);
  const cpu = process.cpuUsage(win.cpu);
  return {
    type: "report",
    id,
    frames: win.frames,
    bytes: win.bytes,
    duplicates: win.duplicates,
    outOfWindow: win.outOfWindow,
    unreadable: win.unreadable,
    heartbeats: win.heartbeats,
    droppedNotices: win.droppedNotices,
    otherMessages: win.otherMessages,
    shares: clients.map((c) => (want === 0 ? 1 : c.received / want)),
    connected: connectedCount(),
    clientsCutOff: win.cutOff.size,
    kept: clients.filter((c) => c.connected && win.connectedAtStart.has(c.id) && !win.cutOff.has(c.id))
      .length,
    reconnects: win.reconnects,
    closeCodes: win.closeCodes,
    handshakeFailures: win.handshakeFailures,
    samples: win.samples,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  };
}

function reply(m: WorkerReply | ReadyMessage): void {
  process.send?.(m);
}

process.on("message", (m: WorkerRequest) => {
  switch (m.type) {
    case "start": {
      win = new Window(m.from, m.capacity);
      const bytes = Math.ceil(m.capacity / 8);
      for (const c of clients) {
        c.bitmap = new Uint8Array(bytes);
        c.received = 0;
        if (c.connected) win.connectedAtStart.add(c.id);
      }
      loop.reset();
      loop.enable();
      return reply({ type: "snapshot", id: m.id, frames: 0, received: 0, connected: connectedCount() });
    }
    case "snapshot": {
      let received = 0;
      for (const c of clients) received += c.received;
      return reply({ type: "snapshot", id: m.id, frames: win.frames, received, connected: connectedCount() });
    }
    case "report":
      loop.disable();
      return reply(report(m.id, m.to));
    case "exit":
      stopping = true;
      for (const c of clients) c.close();
      reply({ type: "exit", id: m.id });
      setTimeout(() => process.exit(0), 100);
  }
});
process.on("disconnect", () => process.exit(0));

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(cfg.connectConcurrency, clients.length) }, async () => {
    while (next < clients.length) await clients[next++].connect();
  }),
);
reply({ type: "ready", connected: connectedCount() });
