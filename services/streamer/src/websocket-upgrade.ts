/**
 * WebSocket clients, taken on the HTTP server's 'upgrade' event: the path picks the stream, the request is
 * admitted (rate, auth, filters, resume, limits) before the 101, and the socket becomes a StreamClient whose
 * frames are the shared pre-framed bytes of the fan-out.
 *
 * This runs in the HTTP server's event listener: a throw here is an uncaught exception that ends the process
 * with every client on it (issue 12). So the target is parsed without throwing, and anything unexpected is
 * counted, logged and answered 500.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "@certstream/log";
import { type WebSocket, WebSocketServer } from "ws";
import type { Access } from "./access.ts";
import { type Admission, type Admitted, RequestError, refuseSocket } from "./admission.ts";
import type { ClientSink } from "./client.ts";
import { destroyUnlessDrained } from "./close-grace.ts";
import type { StreamConnections } from "./connections.ts";
import { wsTextFrame } from "./frames.ts";
import type { StreamerMetrics } from "./metrics.ts";
import { parseRequestTarget } from "./request-target.ts";
import {
  baseStream,
  requestedFormat,
  type StreamerSettings,
  type StreamFormat,
  streamEnabled,
} from "./settings.ts";
import type { WriteBatch } from "./write-batch.ts";

const WS_PATHS: Record<string, StreamFormat> = {
  "/": "lite",
  "/full-stream": "full",
  "/full-stream/": "full",
  "/domains-only": "domains",
  "/domains-only/": "domains",
  // v2 (issue 18): the same streams with the v2 message; `?format=v2` on the paths above does the same.
  "/v2": "lite_v2",
  "/v2/": "lite_v2",
  "/v2/full-stream": "full_v2",
  "/v2/full-stream/": "full_v2",
  "/v2/domains-only": "domains_v2",
  "/v2/domains-only/": "domains_v2",
};

/** The stream of a WebSocket path (own keys only: `/__proto__` is no stream). */
export function wsPathFormat(pathname: string): StreamFormat | undefined {
  return Object.hasOwn(WS_PATHS, pathname) ? WS_PATHS[pathname] : undefined;
}

export interface WebSocketUpgradeDeps {
  settings(): StreamerSettings;
  access: Access;
  admission: Admission;
  connections: StreamConnections;
  metrics: StreamerMetrics;
  log: Logger;
  writeBatch: WriteBatch;
}

export class WebSocketUpgrade {
  private readonly deps: WebSocketUpgradeDeps;
  private readonly wss: WebSocketServer;

  constructor(deps: WebSocketUpgradeDeps) {
    this.deps = deps;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.settings().streamer.max_frame_bytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Largest inbound frame, for the next upgrade (hot reload). */
  set maxPayload(bytes: number) {
    this.wss.options.maxPayload = bytes;
  }

  /** The 'upgrade' listener: never throws. */
  readonly onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on("error", () => {});
    try {
      this.upgrade(req, socket, head);
    } catch (err) {
      this.deps.metrics.errors.inc({ kind: "upgrade" });
      this.deps.log.error({ err, target: req.url?.slice(0, 200) }, "websocket upgrade failed; answered 500");
      // Before the 101 an HTTP answer is still possible; after it the socket speaks WebSocket.
      if (socket.bytesWritten === 0 && socket.writableLength === 0)
        refuseSocket(socket, 500, "internal error");
      else socket.destroy();
    }
  };

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const { access, metrics, settings } = this.deps;
    const target = parseRequestTarget(req.url);
    if (target === null) {
      metrics.refused.inc({ kind: "bad_request" });
      refuseSocket(socket, 400, "request target must be a path");
      return;
    }
    const pathFormat = wsPathFormat(target.pathname);
    // A /v2/ path is v2 whatever the query; a v1 path is v2 with `format=v2`.
    const format =
      pathFormat === undefined
        ? undefined
        : requestedFormat(pathFormat, target.query, pathFormat !== baseStream(pathFormat));
    if (format === null) {
      refuseSocket(socket, 400, "format must be v1 or v2");
      return;
    }
    const s = settings();
    if (!s.protocols.websocket || format === undefined || !streamEnabled(s, format)) {
      refuseSocket(socket, 404, "no such stream");
      return;
    }
    const ip = access.clientIp(socket.remoteAddress, req.headers["x-forwarded-for"]);
    let admitted: Admitted;
    try {
      admitted = this.deps.admission.admit(target, req.headers, ip, target.query.get("since"), {
        rateChecked: false,
        waitToResume: false,
      });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      metrics.refused.inc({ kind: err.refusal.kind });
      refuseSocket(socket, err.refusal.status, err.refusal.reason);
      return;
    }
    // ws refuses a bad handshake (key, version) itself, with 400 and without calling back: the connection
    // slot admit() took is then released when the socket closes.
    let upgraded = false;
    socket.once("close", () => {
      if (!upgraded) access.release(ip);
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      this.onWebSocket(ws, socket, format, ip, admitted);
    });
  }

  private onWebSocket(
    ws: WebSocket,
    socket: Socket,
    format: StreamFormat,
    ip: string,
    admitted: Admitted,
  ): void {
    const { connections, metrics, log, writeBatch, settings } = this.deps;
    socket.setNoDelay(true);
    const sink: ClientSink = {
      buffered: () => socket.writableLength,
      // Pre-framed shared bytes go straight to the socket; ws itself only sends control frames here, and
      // (without compression) it writes synchronously, so frames never interleave.
      write: (frame, coalesce) => {
        if (ws.readyState !== 1) return;
        if (coalesce) writeBatch.hold(socket);
        socket.write(frame);
      },
      frame: wsTextFrame,
      close: (code, reason) => {
        ws.close(code, reason);
        destroyUnlessDrained(socket, settings().streamer.close_grace_ms, () => ws.terminate());
      },
    };
    const conn = connections.connect(format, "ws", ip, admitted.filter, sink, ws);
    socket.on("drain", () => conn.client.pump());
    ws.on("pong", () => {
      conn.alive = true;
    });
    ws.on("message", () => {
      // certstream clients have nothing to say; anything received is counted and ignored
      metrics.clientMessages.inc();
    });
    ws.on("error", (err) => {
      conn.closeReason ??=
        (err as Error & { code?: string }).code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
          ? "frame_too_large"
          : "error";
      log.debug({ err, ip }, "websocket error; connection closed");
    });
    ws.on("close", () => connections.disconnect(conn, "client"));
    connections.begin(conn, admitted.since);
  }
}
