/**
 * The path and query of an HTTP request target (RFC 9112 §3.2), without throwing on any input.
 *
 * `new URL(target, base)` is not a parser for request targets: it reads `//host/...` as a network-path
 * reference and throws on `//`, `//[` or `//a:99999/`, which are valid origin-form targets (a path with empty
 * segments). A throw in the 'upgrade' handler ends the process, so every target a client sends goes through here.
 */

export interface RequestTarget {
  /** The path exactly as sent (origin-form), or the path of an absolute-form target. */
  pathname: string;
  query: URLSearchParams;
}

const ABSOLUTE_SCHEMES = new Set(["http:", "https:", "ws:", "wss:"]);

/**
 * origin-form (`/path?query`) is split at the first `?` (a `#` and what follows are dropped: not part of a
 * request target); absolute-form (`http://host/path?query`, as proxies may send) is read with URL. Anything
 * else (authority-form, asterisk-form, garbage) is null: the caller answers 400.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget | null {
  const raw = target ?? "/";
  const hash = raw.indexOf("#");
  const t = hash < 0 ? raw : raw.slice(0, hash);
  if (t.startsWith("/")) {
    const q = t.indexOf("?");
    return q < 0
      ? { pathname: t, query: new URLSearchParams() }
      : { pathname: t.slice(0, q), query: new URLSearchParams(t.slice(q + 1)) };
  }
  const url = URL.parse(t);
  if (url === null || !ABSOLUTE_SCHEMES.has(url.protocol)) return null;
  return { pathname: url.pathname, query: url.searchParams };
}
