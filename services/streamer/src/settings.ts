/**
 * The part of the configuration the streamer uses (top-level host/port/trusted_proxies plus the protocols,
 * streams, auth, connection_limit, rate_limit, hot_reload and streamer sections of @certstream/config).
 * auth, limits, rate limit, frame size and client buffer limits are re-applied on hot reload.
 */
import { type Config, loadConfig } from "@certstream/config";

/** The three certstream streams, in v1 (certstream's messages) and v2 (issue 18: opt-in, verified state etc.). */
export type StreamFormat = "lite" | "full" | "domains" | "lite_v2" | "full_v2" | "domains_v2";
export const STREAM_FORMATS: readonly StreamFormat[] = [
  "lite",
  "full",
  "domains",
  "lite_v2",
  "full_v2",
  "domains_v2",
];

/** The stream a format belongs to, whatever its version. */
export function baseStream(f: StreamFormat): "lite" | "full" | "domains" {
  return f === "lite_v2" ? "lite" : f === "full_v2" ? "full" : f === "domains_v2" ? "domains" : f;
}

/**
 * The format a request asks for: the path's stream, in v2 when the path is under /v2/ or the query says
 * `format=v2`; null when `format` is something else than v1 or v2 (the caller answers 400).
 */
export function requestedFormat(
  stream: StreamFormat,
  query: URLSearchParams,
  v2Path: boolean,
): StreamFormat | null {
  const asked = query.get("format");
  if (asked !== null && asked !== "v1" && asked !== "v2") return null;
  if (!v2Path && asked !== "v2") return stream;
  const base = baseStream(stream);
  return base === "lite" ? "lite_v2" : base === "full" ? "full_v2" : "domains_v2";
}

export type StreamerSettings = Pick<
  Config,
  | "host"
  | "port"
  | "protocols"
  | "streams"
  | "auth"
  | "connection_limit"
  | "rate_limit"
  | "trusted_proxies"
  | "hot_reload"
  | "streamer"
>;

export type AccessSettings = Pick<Config, "auth" | "connection_limit" | "rate_limit" | "trusted_proxies">;

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

/** The defaults of the config library, with sections overridden (for tests and benchmarks). */
export function streamerSettings(over: DeepPartial<StreamerSettings> = {}): StreamerSettings {
  const base = loadConfig({ argv: [], env: {} }).config;
  const out = { ...base } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] =
      v !== null && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object"
        ? { ...(cur as object), ...(v as object) }
        : v;
  }
  return out as unknown as StreamerSettings;
}

export function streamEnabled(s: StreamerSettings, f: StreamFormat): boolean {
  const b = baseStream(f);
  return b === "lite" ? s.streams.lite : b === "full" ? s.streams.full : s.streams.domains_only;
}
