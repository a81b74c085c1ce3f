/** Test clients: a node `ws` collector, a raw SSE reader (http.get, honouring Last-Event-ID), certstream-python. */
import { spawn } from "node:child_process";
import { get, type IncomingMessage } from "node:http";
import WebSocket from "ws";
import { pythonBin } from "../../../test/stack.ts";

// biome-ignore lint/suspicious/noExplicitAny: certstream messages are checked field by field in the tests
export type Msg = any;

export interface WsCollector {
  ws: WebSocket;
  messages: Msg[];
  /** Arrival times (ms) of every message, heartbeats included. */
  arrivals: number[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  certs(): Msg[];
}

export function wsCollect(url: string, headers: Record<string, string> = {}): WsCollector {
  const ws = new WebSocket(url, { headers });
  const messages: Msg[] = [];
  const arrivals: number[] = [];
  ws.on("message", (d) => {
    arrivals.push(Date.now());
    messages.push(JSON.parse(String(d)));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
  });
  opened.catch(() => {});
  return {
    ws,
    messages,
    arrivals,
    closed,
    opened,
    certs: () =>
      messages.filter((m) => m.message_type === "certificate_update" || m.message_type === "dns_entries"),
  };
}

/** Resolves with the HTTP status of a refused upgrade (or 101). */
export function wsStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on("error", () => resolve(0));
  });
}

export interface SseEvent {
  id: string | null;
  data: Msg;
}

export interface SseCollector {
  events: SseEvent[];
  status: Promise<number>;
  ended: Promise<void>;
  lastId(): string | null;
  close(): void;
  certs(): SseEvent[];
}

export function sseCollect(url: string, headers: Record<string, string> = {}): SseCollector {
  const events: SseEvent[] = [];
  let res: IncomingMessage | null = null;
  let resolveStatus: (n: number) => void = () => {};
  let resolveEnded: () => void = () => {};
  const status = new Promise<number>((r) => {
    resolveStatus = r;
  });
  const ended = new Promise<void>((r) => {
    resolveEnded = r;
  });
  const req = get(url, { headers: { accept: "text/event-stream", ...headers } }, (r) => {
    res = r;
    resolveStatus(r.statusCode ?? 0);
    let buf = "";
    r.setEncoding("utf8");
    r.on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let id: string | null = null;
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) id = line.slice(4);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length > 0) events.push({ id, data: JSON.parse(data.join("\n")) });
      }
    });
    r.on("end", () => resolveEnded());
    r.on("close", () => resolveEnded());
  });
  req.on("error", () => {
    resolveStatus(0);
    resolveEnded();
  });
  return {
    events,
    status,
    ended,
    lastId: () => {
      for (let i = events.length - 1; i >= 0; i--) if (events[i].id) return events[i].id;
      return null;
    },
    close: () => {
      req.destroy();
      (res as IncomingMessage | null)?.destroy();
    },
    certs: () =>
      events.filter(
        (e) => e.data.message_type === "certificate_update" || e.data.message_type === "dns_entries",
      ),
  };
}

/** Runs certstream-python against `url` until it has `n` messages; `onOpen` runs once it is connected. */
export async function certstreamPython(url: string, n: number, onOpen: () => Promise<void>): Promise<Msg[]> {
  const script = new URL("./python/certstream_client.py", import.meta.url).pathname;
  const child = spawn(pythonBin(), [script, url, String(n)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let opened = false;
  child.stderr.on("data", (d) => {
    err += d;
  });
  const done = new Promise<Msg[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`certstream-python timed out; stderr: ${err.slice(-2000)}`));
    }, 45_000);
    child.stdout.on("data", (d) => {
      out += d;
      if (!opened && out.includes("OPEN")) {
        opened = true;
        onOpen().catch(reject);
      }
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line && out.endsWith("\n")) {
        clearTimeout(timer);
        resolve(JSON.parse(line).messages);
      }
    });
    child.on("exit", (code) => {
      if (code !== 0) {
        clearTimeout(timer);
        reject(new Error(`certstream-python exited ${code}; stderr: ${err.slice(-2000)}`));
      }
    });
  });
  return done;
}
