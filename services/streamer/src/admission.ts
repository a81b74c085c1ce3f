/**
 * What a stream request (WebSocket upgrade or SSE) must pass before its stream starts, in order: not shutting
 * down, the rate limit, auth, valid filters and cursor, a resume that can start (WebSocket only: an SSE client
 * waits for it instead, see connections.ts), a connection slot. A refusal is an HTTP status with a reason,
 * written as an HTTP response or, before an upgrade, straight to the socket.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Access, Refusal } from "./access.ts";
import { CursorError, parseSince } from "./cursor.ts";
import { ClientFilter, FilterError } from "./filters.ts";
import { sendJson } from "./http-routes.ts";
import type { StreamerMetrics } from "./metrics.ts";
import type { RequestTarget } from "./request-target.ts";

/** A stream request refused before it started; `refusal` is the answer. */
export class RequestError extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.reason);
    this.refusal = refusal;
  }
}

export interface Admitted {
  filter: ClientFilter | null;
  /** The resume point asked for (validated), or null for the live feed. */
  since: string | null;
}

export interface AdmitOptions {
  /** The rate limit was already applied to this request (routes.ts, before every route). */
  rateChecked: boolean;
  /** The client waits for a resume that cannot start yet instead of being refused 503 (SSE). */
  waitToResume: boolean;
}

export interface AdmissionDeps {
  access: Access;
  draining(): boolean;
  /** Why a resume cannot start now (503 not_ready or resume_busy), or null when it can. */
  resumeBlocker(): Refusal | null;
}

export class Admission {
  private readonly deps: AdmissionDeps;

  constructor(deps: AdmissionDeps) {
    this.deps = deps;
  }

  /** Throws RequestError with the answer; on success the caller owns one connection slot of `ip`. */
  admit(
    target: RequestTarget,
    headers: IncomingMessage["headers"],
    ip: string,
    since: string | null,
    opts: AdmitOptions,
  ): Admitted {
    const { access } = this.deps;
    if (this.deps.draining())
      throw new RequestError({ status: 503, reason: "server is shutting down", kind: "draining" });
    if (!opts.rateChecked) {
      const r = access.checkRate(ip, Date.now());
      if (r) throw new RequestError(r);
    }
    const auth = access.checkAuth(headers, target.query.get("token"));
    if (auth) throw new RequestError(auth);
    let filter: ClientFilter | null;
    try {
      filter = ClientFilter.fromQuery(target.query);
      if (since !== null) parseSince(since);
    } catch (err) {
      if (err instanceof FilterError || err instanceof CursorError)
        throw new RequestError({ status: 400, reason: err.message, kind: "bad_request" });
      throw err;
    }
    if (since !== null && !opts.waitToResume) {
      const blocked = this.deps.resumeBlocker();
      if (blocked) throw new RequestError(blocked);
    }
    const slot = access.acquire(ip);
    if (slot) throw new RequestError(slot);
    return { filter, since };
  }
}

/** Answers a refused request, counted by kind. */
export function refuseResponse(res: ServerResponse, r: Refusal, metrics: StreamerMetrics): void {
  metrics.refused.inc({ kind: r.kind });
  const headers =
    r.status === 401 ? { "www-authenticate": "Bearer" } : r.status === 429 ? { "retry-after": "1" } : {};
  sendJson(res, r.status, { error: r.reason }, headers);
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Answers a request on its raw socket (an upgrade not taken) and closes the connection. */
export function refuseSocket(socket: Socket, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  const extra = status === 401 ? "WWW-Authenticate: Bearer\r\n" : status === 429 ? "Retry-After: 1\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
