import { int, str, strs } from "../spec.ts";

/** Top-level keys, named as certstream-server-rust names them. `host`/`port` are the streamer's listener. */
export const serverFields = {
  host: str("0.0.0.0"),
  port: int(8080, { min: 0, max: 65535 }),
  log_level: str("info", { oneOf: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] }),
  /** Peers whose X-Forwarded-For is believed (IPs or CIDRs). */
  trusted_proxies: strs(),
};
