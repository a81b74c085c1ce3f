import { type Config, ConfigError, loadConfig, redactConfig } from "@certstream/config";
import { tableLocationText } from "@certstream/delta";
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
import { LogTally, terminalLogPath } from "./log-tally.ts";
import { boundedWait, NetworkWaitError, type WaitTarget } from "./network-wait.ts";
import { LogLineProgress, type ProgressSink, TtyProgress } from "./progress.ts";
import { StatusLine } from "./status-line.ts";
import { type StatusServer, startStatusServer } from "./status-server.ts";
import { formatSummary } from "./summary.ts";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM (main wires the signals). */
  signal: AbortSignal;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Exit code 2 with a message naming what is wrong. */
function bad(io: CliIo, message: string): 2 {
  io.stderr.write(`backfill: ${message}\n`);
  return 2;
}

interface Prepared {
  args: BackfillArgs;
  config: Config;
  logs: CatalogLog[];
  status: StatusLine;
}

/** What the log list, Kafka and the registry are, for the status line and a bounded wait's error. */
function logListTarget(config: Config): WaitTarget {
  const ct = config.ct_log;
  if (ct.log_list_path)
    return {
      what: "the CT log list",
      target: ct.log_list_path,
      key: "ct_log.log_list_path",
      remedy: "check that the file exists and is readable",
    };
  return {
    what: "the CT log list",
    target: ct.log_list_url,
    key: "ct_log.log_list_url, env CERTSTREAM_CT_LOG_LOG_LIST_URL",
    remedy:
      "without internet, run `npm run backfill` while `npm run up` runs (it uses the same CT log stand-ins), " +
      "set the key to a reachable list, set ct_log.log_list_path to a local copy, or set " +
      "ct_log.log_list_enabled: false and list the logs in custom_logs/static_logs",
  };
}

function kafkaTarget(config: Config): WaitTarget {
  return {
    what: "Kafka",
    target: config.kafka.brokers.join(","),
    key: "kafka.brokers, env CERTSTREAM_KAFKA_BROKERS",
    remedy:
      "start it (`bash scripts/stack.sh up`, or `npm run up`) or point the key at a running broker; " +
      "`npm run backfill` sets it from the running stack",
  };
}

function registryTarget(config: Config): WaitTarget {
  return {
    what: "the schema registry",
    target: config.kafka.schema_registry_url,
    key: "kafka.schema_registry_url, env CERTSTREAM_KAFKA_SCHEMA_REGISTRY_URL",
    remedy: "start it (`bash scripts/stack.sh up`) or point the key at a running registry",
  };
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
  const status = new StatusLine(io.stderr);
  let all: CatalogLog[];
  const listAt = logListTarget(config);
  try {
    if (config.ct_log.log_list_enabled) status.set(`reading the log list from ${listAt.target}`);
    const list = await boundedWait(listAt, config.backfill.connect_timeout_secs * 1000, io.signal, (signal) =>
      loadCatalog(config, signal),
    );
    all = list.logs;
    status.clear();
  } catch (err) {
    status.clear();
    if (io.signal.aborted) return { exit: 1 };
    // Not a bad config as such (the list may be unreachable right now): a run-time failure, exit 1.
    io.stderr.write(`backfill: ${(err as Error).message}\n`);
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
  return { args, config, logs, status };
}

/** The whole command: returns the exit code (0 all logs completed, 1 a log failed, 2 bad arguments/config). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const prepared = await prepare(argv, io);
  if ("exit" in prepared) return prepared.exit;
  const { args, config, logs, status } = prepared;
  const tty = Boolean(io.stderr.isTTY) && !args.dryRun;
  // On a terminal the log goes to a file, so that no line (kafkajs's warnings among them) lands among the
  // status line and the bars; its warnings are summarised after them.
  const tally = io.stderr.isTTY
    ? new LogTally(terminalLogPath(config.backfill.terminal_log_path))
    : undefined;
  const logger: Logger = createLogger("backfill", config.log_level, tally);
  const timeoutMs = config.backfill.connect_timeout_secs * 1000;
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
    const kafkaAt = kafkaTarget(config);
    status.set(`connecting to Kafka at ${kafkaAt.target}`);
    try {
      await boundedWait(kafkaAt, timeoutMs, io.signal, async () => {
        await admin.connect();
        if (config.kafka.create_topics) await ensureTopics(admin, topicSpecs(config.kafka));
        else await admin.listTopics();
      });
      setKafkaConnected(true);
    } catch (err) {
      setKafkaConnected(false);
      throw err;
    } finally {
      // A connect still retrying in kafkajs would hold disconnect: the job does not wait for it.
      await Promise.race([admin.disconnect().catch(() => undefined), sleepMs(1000)]);
    }
    const codec = new CertificateEntryCodec({
      registryUrl: config.kafka.schema_registry_url,
      clientId: `${config.kafka.client_id}-backfill`,
    });
    const registryAt = registryTarget(config);
    status.set(`registering the schema at ${registryAt.target}`);
    try {
      await boundedWait(registryAt, timeoutMs, io.signal, () =>
        codec.register(valueSubject(config.kafka.topics.backfill)),
      );
      setSchemaRegistryConnected(true);
    } catch (err) {
      setSchemaRegistryConnected(false);
      throw err;
    }
    const progress: ProgressSink = tty
      ? new TtyProgress(io.stderr)
      : args.dryRun && io.stderr.isTTY
        ? { status: (text) => status.set(text), render: () => undefined }
        : new LogLineProgress(logger, config.backfill.progress_interval_secs * 1000);
    status.set(
      args.dryRun ? `scanning ${tableLocationText(config.delta_sink)} for gaps` : "finding the gaps",
    );
    health.setReady(true, "connected to Kafka and the registry");
    logger.info(
      {
        mode: args.from === null ? "catch-up" : "from",
        from: args.from,
        logs: logs.map((l) => l.name),
        dry_run: args.dryRun,
        wait: args.wait,
        table: tableLocationText(config.delta_sink),
      },
      "backfill starting",
    );
    // The bars take over the terminal from the status line; a dry run keeps the line until it prints the gaps.
    if (tty) status.clear();
    const result = await runBackfill({
      config,
      args,
      logs,
      kafka,
      codec,
      logger,
      signal: io.signal,
      progress,
      print: (t) => {
        status.clear();
        io.stdout.write(`${t}\n`);
      },
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
    status.clear();
    logger.error({ err: (err as Error).message }, "backfill failed before finishing");
    if (io.signal.aborted) io.stderr.write(`backfill: interrupted (${String(io.signal.reason)})\n`);
    else if (err instanceof NetworkWaitError) io.stderr.write(`backfill: ${err.message}\n`);
    else io.stderr.write(`backfill: failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    status.clear();
    for (const line of tally?.summary() ?? []) io.stderr.write(`backfill: ${line}\n`);
    await metrics?.close();
    uninstallPanic();
  }
}
