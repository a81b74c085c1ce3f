/**
 * Who may connect, and how much: bearer-token auth, connection limits (global and per IP), a per-IP HTTP
 * request rate limit, and the client address behind trusted proxies. `update()` applies a reloaded config to
 * the next request or connection; existing connections keep running.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";
import type { AccessSettings } from "./settings.ts";

export type Refusal = { status: 400 | 401 | 429 | 503; reason: string; kind: string };

const MAX_TRACKED_IPS = 100_000;

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

export class Access {
  private settings: AccessSettings;
  private tokenDigests: Buffer[] = [];
  private proxies = new BlockList();
  private total = 0;
  private readonly perIp = new Map<string, number>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(settings: AccessSettings) {
    this.settings = settings;
    this.update(settings);
  }

  /** Applies all of `settings` or, when trusted_proxies has a bad entry, none of it (throws naming the entry). */
  update(settings: AccessSettings): void {
    const list = new BlockList();
    for (const entry of settings.trusted_proxies) {
      const [addr, bits] = entry.split("/");
      const family = isIP(addr) === 6 ? "ipv6" : "ipv4";
      if (isIP(addr) === 0) throw new Error(`trusted_proxies: "${entry}" is not an IP address or CIDR`);
      if (bits === undefined) list.addAddress(addr, family);
      else {
        const n = Number(bits);
        if (!Number.isInteger(n) || n < 0 || n > (family === "ipv6" ? 128 : 32))
          throw new Error(`trusted_proxies: "${entry}" has a bad prefix length`);
        list.addSubnet(addr, n, family);
      }
    }
    this.settings = settings;
    this.tokenDigests = settings.auth.tokens.map(digest);
    this.proxies = list;
  }

  get current(): AccessSettings {
    return this.settings;
  }

  /**
   * The client address: the peer, or — only when the peer is a trusted proxy — the right-most address in
   * X-Forwarded-For that is not itself a trusted proxy.
   */
  clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    const p = normalize(peer ?? "");
    if (forwardedFor === undefined || !this.isTrusted(p)) return p;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
      .split(",")
      .map((h) => normalize(h.trim()))
      .filter((h) => isIP(h) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) if (!this.isTrusted(hops[i])) return hops[i];
    return hops[0] ?? p;
  }

  /** Null when allowed. Accepts `Bearer <token>` or the bare token in the configured header, or `?token=`. */
  checkAuth(
    headers: Record<string, string | string[] | undefined>,
    queryToken: string | null,
  ): Refusal | null {
    const a = this.settings.auth;
    if (!a.enabled) return null;
    const raw = headers[a.header_name.toLowerCase()];
    let presented = (Array.isArray(raw) ? raw[0] : raw) ?? queryToken ?? "";
    if (/^bearer\s+/i.test(presented)) presented = presented.replace(/^bearer\s+/i, "");
    const d = digest(presented);
    let ok = false;
    // Compare against every token (no early exit), each on equal-length digests.
    for (const t of this.tokenDigests) ok = timingSafeEqual(d, t) || ok;
    return ok && presented !== "" ? null : { status: 401, reason: "missing or invalid token", kind: "auth" };
  }

  /** Reserve a stream connection slot; call release(ip) when it closes. */
  acquire(ip: string): Refusal | null {
    const l = this.settings.connection_limit;
    if (l.enabled) {
      if (this.total >= l.max_connections)
        return { status: 429, reason: "server connection limit reached", kind: "max_connections" };
      if ((this.perIp.get(ip) ?? 0) >= l.per_ip_limit)
        return { status: 429, reason: "per-IP connection limit reached", kind: "per_ip_limit" };
    }
    this.total++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    return null;
  }

  release(ip: string): void {
    this.total = Math.max(0, this.total - 1);
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  connections(): number {
    return this.total;
  }

  /** Token bucket per IP for HTTP requests (including upgrade attempts and SSE). */
  checkRate(ip: string, now: number): Refusal | null {
    const r = this.settings.rate_limit;
    if (!r.enabled) return null;
    let b = this.buckets.get(ip);
    if (b === undefined) {
      if (this.buckets.size >= MAX_TRACKED_IPS) this.evictIdle(now, true);
      b = { tokens: r.burst, at: now };
      this.buckets.set(ip, b);
    } else {
      b.tokens = Math.min(r.burst, b.tokens + ((now - b.at) / 1000) * r.requests_per_second);
      b.at = now;
    }
    if (b.tokens < 1) return { status: 429, reason: "request rate limit exceeded", kind: "rate_limit" };
    b.tokens -= 1;
    return null;
  }

  /** Forget buckets that are full again (idle IPs), so the map stays bounded. */
  evictIdle(now: number, force = false): void {
    const r = this.settings.rate_limit;
    for (const [ip, b] of this.buckets) {
      const full = b.tokens + ((now - b.at) / 1000) * r.requests_per_second >= r.burst;
      if (full || force) this.buckets.delete(ip);
      if (force && this.buckets.size < MAX_TRACKED_IPS / 2) break;
    }
  }

  private isTrusted(ip: string): boolean {
    const v = isIP(ip);
    if (v === 0) return false;
    return this.proxies.check(ip, v === 6 ? "ipv6" : "ipv4");
  }
}

function normalize(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
