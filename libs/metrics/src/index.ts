// @certstream/metrics: the process registry, metric factories and the shared metrics of every service.
export {
  AGE_BUCKETS,
  BATCH_SIZE_BUCKETS,
  BYTES_BUCKETS,
  FLUSH_BUCKETS,
  REQUEST_BUCKETS,
  WINDOW_BUCKETS,
} from "./buckets.ts";
export { configReloads, recordConfigReload } from "./config-reloads.ts";
export {
  type InstrumentedKafkaClient,
  instrumentKafka,
  type KafkaFactory,
  kafkaConnected,
  kafkaRequestQueue,
  schemaRegistryConnected,
  setKafkaConnected,
  setSchemaRegistryConnected,
  trackKafkaClient,
  trackSchemaRegistryCall,
} from "./connections.ts";
export { clearConsumerLag, consumerLag, setConsumerLag } from "./consumer-lag.ts";
export { FAILURE_KINDS, type FailureKind, failureKind, KindedError } from "./failure-kind.ts";
export {
  type HealthLevel,
  type HealthListener,
  type HealthSnapshot,
  HealthState,
  healthStateCount,
  healthStatus,
} from "./health.ts";
export {
  countHttpRequest,
  type HttpMetricsOptions,
  httpRequestDuration,
  httpRequests,
  type MetricsRouteOptions,
  registerHttpMetrics,
  registerMetricsRoute,
} from "./http-metrics.ts";
export { type HttpAnswer, type HttpRequestOptions, httpRequest } from "./http-request.ts";
export type { MetricsLogger } from "./logger.ts";
export { metricsOnServicePort } from "./metrics-placement.ts";
export {
  type LoadedTls,
  loadMetricsTls,
  type MetricsSection,
  type MetricsServer,
  type MetricsServerConfig,
  type MetricsTlsConfig,
  MetricsTlsConfigError,
  startMetricsServer,
  startMetricsServerFromConfig,
} from "./metrics-server.ts";
export { http } from "./node-http.ts";
export { installPanicHandlers, type PanicHandlerOptions, panics } from "./panic.ts";
export {
  type CounterSpec,
  counter,
  type GaugeSpec,
  gauge,
  type HistogramSpec,
  histogram,
  type InitMetricsOptions,
  metricsService,
  registry,
  renderMetrics,
  setBuildInfo,
} from "./registry.ts";
export { initMetrics, metricsListener, type ServiceMetricsOptions } from "./service-init.ts";
