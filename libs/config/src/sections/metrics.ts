import { bool, int, optStr, section, str } from "../spec.ts";

/**
 * A separate /metrics listener (seed 003); while enabled, the service's own HTTP port no longer serves /metrics.
 * port 0 = any free port (tests).
 */
export const metrics = section({
  enabled: bool(false),
  host: str("0.0.0.0"),
  port: int(9464, { min: 0, max: 65535 }),
  tls: section({
    enabled: bool(false),
    cert_path: optStr(),
    key_path: optStr(),
    ca_path: optStr(),
    require_mtls: bool(false),
  }),
});
