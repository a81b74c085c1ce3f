import { type Config, ConfigError, loadConfig, redactConfig } from "@certstream/config";
import {
  CertificateEntryCodec,
  createKafka,
  ensureTopics,
  topicSpecs,
  valueSubject,
} from "@certstream/kafka";
import { createLogger, type Logger } from "@certstream/log";
import {
  HealthState,
  initMetrics,
  installPanicHandlers,
  setKafkaConnected,
  setSchemaRegistryConnected,
} from "@certstream/metrics";
import { runBackfill } from "./backfill-job.ts";
import { type BackfillArgs, parseArgs, USAGE, UsageError } from "./cli-args.ts";
import { type CatalogLog, loadCatalog, selectLogs } from "./log-catalog.ts";
import { LogLineProgress, type ProgressSink, TtyProgress } from "./progress.ts";
import { type StatusServer, startStatusServer } from "./status-server.ts";
import { formatSummary } from "./summary.ts";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM (main wires the signals). */
  signal: AbortSignal;
}

/** Exit code 2 with a message naming what is wrong. */
function bad(io: CliIo, message: string): 2 {
  io.stderr.write(`backfill: ${message}\n`);
  return 2;
}

interface Prepared {
  args: BackfillArgs;
  config: Config;
  logs: CatalogLog[];
}

/** Arguments, config and log selection: everything that exits 2 when wrong. */
export async function prepare(argv: readonly string[], io: CliIo): Promise<Prepared | { exit: 0 | 1 | 2 }> {
  let args: BackfillArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return { exit: bad(io, `${err.message}\n${USAGE}`) };
    throw err;
  }
  if (args.help) {
    io.stdout.write(`${USAGE}\n`);
    return { exit: 0 };
  }
  let config: Config;
  try {
    const loaded = loadConfig({ argv, env: io.env });
    config = loaded.config;
    for (const w of loaded.warnings) io.stderr.write(`backfill: config warning: ${w}\n`);
  } catch (err) {
    if (err instanceof ConfigError) return { exit: bad(io, `invalid configuration: ${err.message}`) };
    throw err;
  }
  if (args.validateConfig) {
    io.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    return { exit: 0 };
  }
  let all: CatalogLog[];
  try {
    const list = await loadCatalog(config);
    all = list.logs;
  } catch (err) {
    // Not a bad config as such (the list may be unreachable right now): a run-time failure, exit 1.
    io.stderr.write(
      `backfill: the CT log list could not be loaded (${(err as Error).message}); ` +
        "set ct_log.log_list_path, or ct_log.log_list_enabled: false to use only custom_logs/static_logs\n",
    );
    return { exit: 1 };
  }
  if (all.length === 0)
    return {
      exit: bad(
        io,
        "invalid configuration: ct_log.log_list_enabled / custom_logs / static_logs: no CT log to backfill",
      ),
    };
  const logs = selectLogs(all, args.logs);
  if (logs.length === 0) {
    const known = all.map((l) => l.name).join(", ");
    return {
      exit: bad(io, `--logs: "${args.logs.join(",")}" matches none of the configured logs (${known})`),
    };
  }
  if (args.from !== null && !Number.isSafeInteger(args.from))
    return { exit: bad(io, "--from: must be a safe integer") };
  return { args, config, logs };
}

/** The whole command: returns the exit code (0 all logs completed, 1 a log failed, 2 bad arguments/config). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const prepared = await prepare(argv, io);
  if ("exit" in prepared) return prepared.exit;
  const { args, config, logs } = prepared;
  const tty = Boolean(io.stderr.isTTY) && !args.dryRun;
  // On a terminal the bars replace the info log lines; LOG_LEVEL still wins.
  const logger: Logger = createLogger("backfill", tty ? "warn" : config.log_level);
  initMetrics({ service: "backfill" });
  const uninstallPanic = installPanicHandlers(logger);
  const health = new HealthState({ logger, service: "backfill" });
  let metrics: StatusServer | undefined;
  try {
    metrics = await startStatusServer({ host: config.host, port: config.backfill.port, health, logger });
  } catch (err) {
    logger.warn(
      { port: config.backfill.port, err: (err as Error).message },
      "metrics endpoint not started (port busy?); the job runs without it",
    );
  }
  try {
    const kafka = createKafka({
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.client_id}-backfill`,
      logger,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      if (config.kafka.create_topics) await ensureTopics(admin, topicSpecs(config.kafka));
      else await admin.listTopics();
      setKafkaConnected(true);
    } catch (err) {
      setKafkaConnected(false);
      throw err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const codec = new CertificateEntryCodec({
      registryUrl: config.kafka.schema_registry_url,
      clientId: `${config.kafka.client_id}-backfill`,
    });
    try {
      await codec.register(valueSubject(config.kafka.topics.backfill));
      setSchemaRegistryConnected(true);
    } catch (err) {
      setSchemaRegistryConnected(false);
      throw err;
    }
    const progress: ProgressSink = tty
      ? new TtyProgress(io.stderr)
      : new LogLineProgress(logger, config.backfill.progress_interval_secs * 1000);
    health.setReady(true, "connected to Kafka and the registry");
    logger.info(
      {
        mode: args.from === null ? "catch-up" : "from",
        from: args.from,
        logs: logs.map((l) => l.name),
        dry_run: args.dryRun,
        wait: args.wait,
        table: config.delta_sink.table_path,
      },
      "backfill starting",
    );
    const result = await runBackfill({
      config,
      args,
      logs,
      kafka,
      codec,
      logger,
      signal: io.signal,
      progress,
      print: (t) => io.stdout.write(`${t}\n`),
      progressEveryMs: tty ? 250 : 1000,
    });
    if (!args.dryRun) {
      const s = result.summary;
      io.stdout.write(`${formatSummary(s)}\n`);
      logger.info(
        {
          records_written: s.recordsWritten,
          logs_completed: s.completed,
          logs_failed: s.failed,
          elapsed_ms: s.elapsedMs,
          failed: s.logs.filter((l) => l.state === "failed").map((l) => ({ log: l.name, error: l.error })),
        },
        "backfill complete",
      );
    }
    return result.exitCode;
  } catch (err) {
    logger.error({ err: (err as Error).message }, "backfill failed before finishing");
    io.stderr.write(`backfill: failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await metrics?.close();
    uninstallPanic();
  }
}
