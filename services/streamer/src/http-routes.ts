/**
 * The streamer's HTTP requests on node:http, without a framework: a table of GET routes (HEAD answers as GET
 * does, without the body), the accounting every service has (`certstream_http_requests_total{route,method,
 * status}` and its latency), 404 for a path that is no route, 405 for another method on one, 500 for a handler
 * that throws (logged; the process goes on). While the server drains, every request gets 503 and the
 * connection is closed.
 *
 * Why not fastify, as the other services: the streamer serves a dozen fixed GET paths, and fastify with what
 * it loads (http2, ajv, fast-json-stringify, find-my-way, avvio) held ~7 MB of a streamer's resident memory,
 * against a goal of 100 MB at 1,000 clients. WebSocket upgrades never come here (websocket-upgrade.ts).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Logger } from "@certstream/log";
import { countHttpRequest } from "@certstream/metrics";
import { parseRequestTarget, type RequestTarget } from "./request-target.ts";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => unknown;

export interface HttpRoutesOptions {
  log: Logger;
  draining(): boolean;
  /** Runs before the route's handler; returns true when it has answered the request itself. */
  before?(req: IncomingMessage, res: ServerResponse, route: string): boolean;
}

/** Answers a JSON body (or the status alone on HEAD). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: OutgoingHttpHeaders) {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body), headers);
}

export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers: OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    ...headers,
    "content-type": contentType,
    "content-length": typeof body === "string" ? Buffer.byteLength(body) : body.length,
  });
  res.end(body);
}

export class HttpRoutes {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly opts: HttpRoutesOptions;

  constructor(opts: HttpRoutesOptions) {
    this.opts = opts;
  }

  get(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  /** The 'request' listener: never throws. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const target = parseRequestTarget(req.url);
    const handler = target === null ? undefined : this.routes.get(target.pathname);
    const route = handler === undefined || target === null ? "unmatched" : target.pathname;
    res.once("close", () =>
      countHttpRequest(route, req.method ?? "", res.statusCode, (performance.now() - started) / 1000),
    );
    if (this.opts.draining()) {
      res.shouldKeepAlive = false;
      sendJson(res, 503, { error: "server is shutting down" });
      return;
    }
    if (target === null) {
      sendJson(res, 400, { error: "request target must be a path" });
      return;
    }
    if (handler === undefined) {
      sendJson(res, 404, { error: `no route ${target.pathname}` });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: `${req.method} not allowed` }, { allow: "GET, HEAD" });
      return;
    }
    try {
      if (this.opts.before?.(req, res, route)) return;
      const answer = handler(req, res, target);
      if (answer instanceof Promise) answer.catch((err: unknown) => this.failed(route, res, err));
    } catch (err) {
      this.failed(route, res, err);
    }
  };

  /** Logged with the route, not the URL: its query may hold a token. */
  private failed(route: string, res: ServerResponse, err: unknown): void {
    this.opts.log.error({ err, route }, "request failed");
    if (res.headersSent) res.destroy();
    else sendJson(res, 500, { error: "internal error" });
  }
}
