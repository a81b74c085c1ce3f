// What a service's main.ts calls first: build info, the service label, and client instrumentation.
import { instrumentClientLibraries } from "./client-instrumentation.ts";
import { type InitMetricsOptions, setBuildInfo } from "./registry.ts";

/** Call once at service start, before creating Kafka or registry clients. */
export function initMetrics(opts: InitMetricsOptions): void {
  setBuildInfo(opts);
  if (opts.instrumentClients ?? true) instrumentClientLibraries();
}
