/**
 * Streamer: certstream-compatible WebSocket/SSE fan-out of the certs topic. Thin wiring only; the logic is in
 * the modules beside this file (server, fanout, client, resume, certs-source, access, filters, cursor).
 *
 * Memory: started with NODE_OPTIONS=--max-semi-space-size=1 and MALLOC_ARENA_MAX=2 (scripts/up.sh,
 * deploy/k8s/streamer.yaml). Under the fan-out's allocation rate V8 grows its young generation up to 2×64 MiB
 * (30–100 MiB of RSS that a 1 MiB semi-space does without; CPU within this bench's noise), and glibc's per-thread
 * malloc arenas keep what V8's worker threads freed (~25 MiB). MALLOC_MMAP_THRESHOLD_=65536: each socket read
 * takes a 64 KiB buffer, shrunk to what was read; from glibc's heap (where its mmap threshold goes once a large
 * buffer was freed) 1000 idle clients left ~90 MB of holes that were never given back (footprint bench, no
 * stream: 183 MB with them, 206 MB after they left; mmapped: 103 and 103). And it starts from Node's compile cache
 * (NODE_COMPILE_CACHE, warmed with these NODE_OPTIONS by scripts/up.sh and the Dockerfile): a process that strips
 * TypeScript itself keeps the stripper (amaro, a 3 MB script and its WebAssembly) loaded, 15-20 MiB of RSS.
 * No Maglev (v8-flags.ts, imported first). bench/streamer-footprint.bench.ts measures it.
 */
import "./v8-flags.ts";
import { hostname } from "node:os";
import { startupConfig } from "@certstream/config";
import { topicNames } from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import { HealthState, initMetrics, installPanicHandlers } from "@certstream/metrics";
import { CertsSource } from "./certs-source.ts";
import { watchConfig } from "./config-watch.ts";
import { StreamerServer } from "./server.ts";

const loaded = startupConfig("streamer");
const config = loaded.config;
const log = createLogger("streamer", config.log_level);
initMetrics({ service: "streamer" });
// One health for the process: the server sets readiness from Kafka, a panic marks it not live.
const health = new HealthState({ logger: log, service: "streamer" });
installPanicHandlers(log, { health });

const topic = topicNames(config.kafka).certs;
const source = new CertsSource({
  brokers: config.kafka.brokers,
  registryUrl: config.kafka.schema_registry_url,
  topic,
  clientId: `${config.kafka.client_id}-streamer-${hostname()}-${process.pid}`,
  logger: log,
});
const server = new StreamerServer({ settings: config, logger: log, source, topic, health });
await server.listen();

// Kafka may come up after us: keep trying; /health/ready says 503 until partitions are assigned.
void (async () => {
  for (let attempt = 1; ; attempt++) {
    try {
      await server.startSource();
      return;
    } catch (err) {
      log.error({ err, attempt, topic }, "cannot start the live reader; retrying in 2 s");
      await source.stop();
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
})();

const watchPath = config.hot_reload.watch_path ?? loaded.path;
if (config.hot_reload.enabled && watchPath) {
  watchConfig({ path: watchPath, logger: log, apply: (c) => server.applySettings(c) });
  log.info({ path: watchPath }, "hot reload enabled");
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: closing clients with 1001");
    const bound = setTimeout(() => {
      log.warn("shutdown bound reached; exiting");
      process.exit(0);
    }, config.streamer.shutdown_timeout_ms + 2000);
    bound.unref();
    void server.shutdown().then(() => {
      log.info("streamer stopped");
      process.exit(0);
    });
  });
}
