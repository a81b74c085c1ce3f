/**
 * `GET /sse?stream=lite|full|domains`: Server-Sent Events. The request is admitted (the rate limit was applied
 * before the route, routes.ts), then the response becomes a StreamClient. A resume point comes from
 * `Last-Event-ID` (EventSource sends it by itself on reconnect) or `?since=`; a resume that cannot start yet is
 * waited for on the open stream (connections.ts), never refused: EventSource gives up for good on any answer
 * but 200. HEAD gets the headers a stream starts with, and no stream.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Access } from "./access.ts";
import { type Admission, type Admitted, RequestError, refuseResponse } from "./admission.ts";
import type { ClientSink } from "./client.ts";
import { destroyUnlessDrained } from "./close-grace.ts";
import type { StreamConnections } from "./connections.ts";
import { sseEvent } from "./frames.ts";
import { sendJson } from "./http-routes.ts";
import type { StreamerMetrics } from "./metrics.ts";
import type { RequestTarget } from "./request-target.ts";
import { requestedFormat, type StreamerSettings, type StreamFormat, streamEnabled } from "./settings.ts";
import type { WriteBatch } from "./write-batch.ts";

const SSE_STREAMS: Record<string, StreamFormat> = {
  lite: "lite",
  full: "full",
  domains: "domains",
  "domains-only": "domains",
  domains_only: "domains",
};

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
  "access-control-allow-origin": "*",
};

/** EventSource reconnects after this long when the stream ends. */
const RETRY_MS = 2000;

export interface SseEndpointDeps {
  settings(): StreamerSettings;
  access: Access;
  admission: Admission;
  connections: StreamConnections;
  metrics: StreamerMetrics;
  writeBatch: WriteBatch;
}

export class SseEndpoint {
  private readonly deps: SseEndpointDeps;

  constructor(deps: SseEndpointDeps) {
    this.deps = deps;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse, target: RequestTarget): void => {
    const { access, connections, metrics, writeBatch } = this.deps;
    const stream = target.query.get("stream") ?? "lite";
    // own keys only: `?stream=constructor` is no stream
    const base = Object.hasOwn(SSE_STREAMS, stream) ? SSE_STREAMS[stream] : undefined;
    // v2 (issue 18): /v2/sse, or format=v2 on /sse.
    const format =
      base === undefined
        ? undefined
        : requestedFormat(base, target.query, target.pathname.startsWith("/v2/"));
    if (format === null) {
      sendJson(res, 400, { error: "format must be v1 or v2" });
      return;
    }
    if (format === undefined || !streamEnabled(this.deps.settings(), format)) {
      sendJson(res, 400, { error: "stream must be lite, full or domains" });
      return;
    }
    if (req.method === "HEAD") {
      res.writeHead(200, SSE_HEADERS).end();
      return;
    }
    const ip = access.clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
    const lastEventId = req.headers["last-event-id"];
    const since = (Array.isArray(lastEventId) ? lastEventId[0] : lastEventId) || target.query.get("since");
    let admitted: Admitted;
    try {
      admitted = this.deps.admission.admit(target, req.headers, ip, since || null, {
        rateChecked: true,
        waitToResume: true,
      });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      refuseResponse(res, err.refusal, metrics);
      return;
    }
    const socket = req.socket;
    socket.setNoDelay(true);
    res.writeHead(200, SSE_HEADERS);
    res.write(`retry: ${RETRY_MS}\n\n`);
    const sink: ClientSink = {
      // the response's length includes its socket's
      buffered: () => res.writableLength,
      write: (frame, coalesce) => {
        if (res.writableEnded) return;
        if (coalesce) writeBatch.hold(socket);
        res.write(frame);
      },
      frame: (msg) => sseEvent(msg, null),
      close: () => {
        res.end();
        destroyUnlessDrained(socket, this.deps.settings().streamer.close_grace_ms, () => socket.destroy());
      },
    };
    const conn = connections.connect(format, "sse", ip, admitted.filter, sink, null);
    socket.on("drain", () => conn.client.pump());
    res.on("close", () => connections.disconnect(conn, "client"));
    connections.begin(conn, admitted.since);
  };
}
