/**
 * Clients that read at a set pace, like a consumer on a slow link or a busy machine: a raw WebSocket client
 * and a raw SSE client that take at most `bytesPerSecond` from their socket (0 = stop reading, Infinity = as
 * fast as it comes). They read in paused mode, so what they do not take stays in the kernel's buffers and the
 * server sees a slow client. The WebSocket client answers a ping when it has read it, and reports the close
 * code it received, or 1006 when the connection ended without a close frame.
 */
import { request } from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { closeReply, frameReader, pongFrame } from "../../../test/ws-frames.ts";
import type { Msg, SseEvent } from "./clients.ts";

const TICK_MS = 10;

/** Takes up to the allowed bytes from `stream` every tick and hands them to `onData`. */
class Pacer {
  bytesPerSecond: number;
  private readonly timer: NodeJS.Timeout;

  constructor(stream: Readable, bytesPerSecond: number, onData: (chunk: Buffer) => void) {
    this.bytesPerSecond = bytesPerSecond;
    this.timer = setInterval(() => {
      let budget = this.bytesPerSecond === Infinity ? Infinity : (this.bytesPerSecond * TICK_MS) / 1000;
      while (budget > 0 && stream.readableLength > 0) {
        const chunk = stream.read(Math.min(budget, stream.readableLength)) as Buffer | null;
        if (chunk === null) break;
        budget -= chunk.length;
        onData(chunk);
      }
      // a paused stream only ends (and closes) once read() finds it empty after the end
      if (stream.readableLength === 0) stream.read(0);
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface ThrottledWs {
  opened: Promise<void>;
  messages: Msg[];
  /** The close code received (1006: the connection ended without a close frame) and its reason. */
  closed: Promise<{ code: number; reason: string }>;
  setRate(bytesPerSecond: number): void;
  destroy(): void;
  certs(): Msg[];
}

export function throttledWs(url: string, bytesPerSecond: number): ThrottledWs {
  const target = new URL(url);
  const messages: Msg[] = [];
  let pacer: Pacer | null = null;
  let socket: Socket | null = null;
  let rate = bytesPerSecond;
  let closeFrame: { code: number; reason: string } | null = null;
  let resolveClosed: (v: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((r) => {
    resolveClosed = r;
  });
  const opened = new Promise<void>((resolve, reject) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from("throttled-client").toString("base64"),
      },
    });
    req.on("upgrade", (_res, s: Socket, head: Buffer) => {
      socket = s;
      s.pause();
      if (head.length > 0) s.unshift(head);
      pacer = new Pacer(
        s,
        rate,
        frameReader((opcode, payload) => {
          if (opcode === 1) messages.push(JSON.parse(payload.toString("utf8")));
          else if (opcode === 9)
            s.write(pongFrame(payload)); // once read, as a slow client would
          else if (opcode === 8 && closeFrame === null) {
            closeFrame = {
              code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
              reason: payload.subarray(2).toString("utf8"),
            };
            s.write(closeReply(payload)); // and let the server end the connection
          }
        }),
      );
      s.on("error", () => {});
      s.on("close", () => {
        pacer?.stop();
        resolveClosed(closeFrame ?? { code: 1006, reason: "" });
      });
      resolve();
    });
    req.on("response", (res) => reject(new Error(`HTTP ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
  opened.catch(() => {});
  return {
    opened,
    messages,
    closed,
    setRate: (r) => {
      rate = r;
      if (pacer) pacer.bytesPerSecond = r;
    },
    destroy: () => (socket as Socket | null)?.destroy(),
    certs: () => messages.filter((m) => m.message_type === "certificate_update"),
  };
}

export interface ThrottledSse {
  status: Promise<number>;
  events: SseEvent[];
  ended: Promise<void>;
  setRate(bytesPerSecond: number): void;
  /** The id the client would send as Last-Event-ID: the last `id:` it received (EventSource keeps it). */
  lastId(): string | null;
  close(): void;
}

export function throttledSse(
  url: string,
  bytesPerSecond: number,
  headers: Record<string, string> = {},
): ThrottledSse {
  const events: SseEvent[] = [];
  let lastId: string | null = null;
  let pacer: Pacer | null = null;
  let rate = bytesPerSecond;
  let resolveEnded: () => void = () => {};
  const ended = new Promise<void>((r) => {
    resolveEnded = r;
  });
  let resolveStatus: (n: number) => void = () => {};
  const status = new Promise<number>((r) => {
    resolveStatus = r;
  });
  const target = new URL(url);
  const req = request(
    {
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      headers: { accept: "text/event-stream", ...headers },
    },
    (res) => {
      resolveStatus(res.statusCode ?? 0);
      let text = "";
      pacer = new Pacer(res, rate, (chunk) => {
        text += chunk.toString("latin1");
        for (let i = text.indexOf("\n\n"); i >= 0; i = text.indexOf("\n\n")) {
          const block = Buffer.from(text.slice(0, i), "latin1").toString("utf8");
          text = text.slice(i + 2);
          let id: string | null = null;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = line.slice(4);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (id !== null) lastId = id;
          if (data.length > 0) events.push({ id, data: JSON.parse(data.join("\n")) });
        }
      });
      res.on("end", () => resolveEnded());
      res.on("close", () => {
        pacer?.stop();
        resolveEnded();
      });
    },
  );
  req.on("error", () => {
    resolveStatus(0);
    resolveEnded();
  });
  req.end();
  return {
    status,
    events,
    ended,
    setRate: (r) => {
      rate = r;
      if (pacer) pacer.bytesPerSecond = r;
    },
    lastId: () => lastId,
    close: () => {
      pacer?.stop();
      req.destroy();
    },
  };
}
