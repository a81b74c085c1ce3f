// Hot-reload accounting (hot_reload.enabled): one count per attempt, by result.
import { counter } from "./registry.ts";

export const configReloads = counter({
  name: "certstream_config_reloads_total",
  help: "Configuration reload attempts by result (success, failure)",
  labelNames: ["result"],
});

export function recordConfigReload(ok: boolean): void {
  configReloads.inc({ result: ok ? "success" : "failure" });
}
