// Where a process serves /metrics: on its service port, or only on the dedicated listener of the `metrics`
// config section. Decided by initMetrics; read by registerMetricsRoute at each request, so that every service
// follows one rule whatever its routes.

let onServicePort = true;

/**
 * False while a dedicated metrics listener is configured: its TLS and client-certificate check would protect
 * nothing next to the same metrics served in clear on the service port.
 */
export function metricsOnServicePort(): boolean {
  return onServicePort;
}

/** Set by initMetrics only. */
export function setMetricsOnServicePort(value: boolean): void {
  onServicePort = value;
}
