/**
 * The part of the configuration the streamer uses (top-level host/port/trusted_proxies plus the protocols,
 * streams, auth, connection_limit, rate_limit, hot_reload and streamer sections of @certstream/config).
 * auth, limits, rate limit, frame size and client buffer limits are re-applied on hot reload.
 */
import { type Config, loadConfig } from "@certstream/config";

export type StreamFormat = "lite" | "full" | "domains";
export const STREAM_FORMATS: readonly StreamFormat[] = ["lite", "full", "domains"];

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
  return f === "lite" ? s.streams.lite : f === "full" ? s.streams.full : s.streams.domains_only;
}
