import { normalizeName, registeredDomainOf } from "./domain-key.ts";
import { SearchParamError } from "./errors.ts";

/** What a search selects. Times are µs since the epoch; every condition present must hold (AND). */
export interface SearchQuery {
  /** `domain=example.com`: certificates naming exactly this host (wildcards as written, `*.example.com`). */
  exactDomain?: string;
  /** `domain=*.example.com`: certificates naming example.com or any name under it. */
  suffix?: string;
  /** `registered=example.com`: certificates with this registered domain (eTLD+1) among their names. */
  registered?: string;
  /** `issuer=`: the issuer's organisation or common name, compared without case. */
  issuer?: string;
  /** `log=`: the log's short name (`argon2026h2`) or its full name, compared without case. */
  log?: string;
  /** `on=`: which time from/to bound. */
  timeField: "seen" | "not_before";
  from?: number;
  to?: number;
  limit: number;
  cursor?: string;
}

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;
const KNOWN_PARAMS = new Set([
  "domain",
  "registered",
  "issuer",
  "log",
  "on",
  "from",
  "to",
  "limit",
  "cursor",
]);
const HOST = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const RELATIVE = /^(\d+)\s*(s|m|h|d|w|y)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/**
 * A time bound: ISO 8601 (`2026-05-01`, `2026-05-01T12:00:00Z`), Unix seconds, or an age (`30d`, `12h`, `90m`,
 * `2w`, `1y`) meaning that long before `nowMs`. Returns µs since the epoch; throws SearchParamError naming `param`.
 */
export function parseTimeBound(param: string, raw: string, nowMs: number): number {
  const s = raw.trim();
  const rel = RELATIVE.exec(s);
  if (rel) return (nowMs - Number(rel[1]) * UNIT_SECONDS[rel[2]] * 1000) * 1000;
  if (/^\d{1,12}$/.test(s)) return Number(s) * 1_000_000;
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    const iso = s.length === 10 ? `${s}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s}Z`;
    const ms = Date.parse(iso.replace(" ", "T"));
    if (Number.isFinite(ms)) return ms * 1000;
  }
  throw new SearchParamError(
    param,
    `expected an ISO date or time (2026-05-01, 2026-05-01T12:00:00Z), Unix seconds, or an age such as 30d or 12h; got ${JSON.stringify(raw)}`,
  );
}

function hostParam(param: string, raw: string): string {
  const d = normalizeName(raw);
  if (d.length === 0 || d.length > 253 || !HOST.test(d)) {
    throw new SearchParamError(param, `not a host name: ${JSON.stringify(raw)}`);
  }
  return d;
}

/**
 * Reads a search from request parameters (`GET /api/search?...`). Unknown, repeated or empty parameters are
 * errors too, so a typo (`isuer=`) is a 400 rather than a silently broader search.
 */
export function parseSearchParams(params: URLSearchParams, nowMs: number = Date.now()): SearchQuery {
  const seen = new Set<string>();
  for (const [k, v] of params) {
    if (!KNOWN_PARAMS.has(k)) {
      throw new SearchParamError(k, `unknown parameter (known: ${[...KNOWN_PARAMS].join(", ")})`);
    }
    if (seen.has(k)) throw new SearchParamError(k, "given more than once");
    seen.add(k);
    if (v.trim() === "") throw new SearchParamError(k, "empty value");
  }
  const q: SearchQuery = { timeField: "seen", limit: DEFAULT_LIMIT };
  const domain = params.get("domain");
  if (domain !== null) {
    const d = hostParam("domain", domain);
    if (d.startsWith("*.")) {
      q.suffix = d.slice(2);
    } else {
      if (registeredDomainOf(d) === null) {
        throw new SearchParamError(
          "domain",
          `${d} has no registered domain (a public suffix, an IP address or an internal name); for everything under a suffix use domain=*.${d}`,
        );
      }
      q.exactDomain = d;
    }
  }
  const registered = params.get("registered");
  if (registered !== null) {
    const r = hostParam("registered", registered);
    const rd = registeredDomainOf(r);
    if (rd !== r) {
      throw new SearchParamError(
        "registered",
        rd === null
          ? `${r} has no registered domain (a public suffix, an IP address or an internal name)`
          : `${r} is not a registered domain; its registered domain is ${rd}`,
      );
    }
    q.registered = r;
  }
  const issuer = params.get("issuer");
  if (issuer !== null) {
    if (issuer.length > 256) throw new SearchParamError("issuer", "longer than 256 characters");
    q.issuer = issuer.trim();
  }
  const log = params.get("log");
  if (log !== null) {
    if (log.length > 256) throw new SearchParamError("log", "longer than 256 characters");
    q.log = log.trim();
  }
  const on = params.get("on");
  if (on !== null) {
    if (on !== "seen" && on !== "not_before") {
      throw new SearchParamError("on", `expected seen or not_before, got ${JSON.stringify(on)}`);
    }
    q.timeField = on;
  }
  const from = params.get("from");
  if (from !== null) q.from = parseTimeBound("from", from, nowMs);
  const to = params.get("to");
  if (to !== null) q.to = parseTimeBound("to", to, nowMs);
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
    throw new SearchParamError("from", "is after to");
  }
  const limit = params.get("limit");
  if (limit !== null) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
      throw new SearchParamError(
        "limit",
        `expected an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(limit)}`,
      );
    }
    q.limit = Number(limit);
  }
  const cursor = params.get("cursor");
  if (cursor !== null) q.cursor = cursor;
  return q;
}

/** The query without paging, as a stable string: a cursor is valid only for the query that produced it. */
export function queryIdentity(q: SearchQuery): string {
  return JSON.stringify([
    q.exactDomain,
    q.suffix,
    q.registered,
    q.issuer?.toLowerCase(),
    q.log?.toLowerCase(),
    q.timeField,
    q.from,
    q.to,
  ]);
}
