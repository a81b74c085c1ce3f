import type { Logger } from "@certstream/log";
import { Kafka, type KafkaConfig, type logCreator, logLevel } from "kafkajs";
import { applyKafkajsAbortedOrderFix } from "./kafkajs-patches/aborted-order.ts";
import { applyKafkajsIdleTimerFix } from "./kafkajs-patches/idle-timer.ts";

export interface CreateKafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Passed through to kafkajs (retry, connectionTimeout, requestTimeout, ...). */
  kafkaConfig?: Omit<KafkaConfig, "brokers" | "clientId" | "logCreator" | "logLevel">;
}

/**
 * A kafkajs client that logs through pino. kafkajs is chatty at INFO (every consumer join, every producer
 * connect), so its INFO becomes pino debug and its DEBUG becomes trace; WARN and ERROR stay what they are.
 */
export function createKafka(options: CreateKafkaOptions): Kafka {
  silenceKafkajsTimeoutWarning();
  // kafkajs 2.2.4 spins a 1 ms timer per idle connection (~5% of a consumer's CPU): see kafkajs-patches/idle-timer.ts.
  applyKafkajsIdleTimerFix();
  // kafkajs 2.2.4 can hand aborted records to a read_committed reader: see kafkajs-patches/aborted-order.ts.
  applyKafkajsAbortedOrderFix();
  const { logger } = options;
  return new Kafka({
    ...options.kafkaConfig,
    brokers: options.brokers,
    clientId: options.clientId,
    // Ask kafkajs only for what pino will keep: building its log entries is not free.
    logLevel: logger.isLevelEnabled("trace")
      ? logLevel.DEBUG
      : logger.isLevelEnabled("debug")
        ? logLevel.INFO
        : logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}

/**
 * Maps kafkajs log entries onto a pino logger (child `component: "kafkajs"`). kafkajs logs every failed
 * request at ERROR even when it retries it (coordinator loading, rebalances, transaction races); those become
 * WARN, since a failure that matters reaches the caller as an exception and is logged there with context.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: "kafkajs" });
  return () =>
    ({ namespace, level: kafkaLevel, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      // Our producers use the (Java-compatible) default partitioner on purpose: its v2 notice is noise.
      if (message.startsWith("KafkaJS v2.0.0 switched default partitioner")) return;
      const retried = namespace === "Connection" || "retryCount" in extra || "retryTime" in extra;
      const level = kafkaLevel === logLevel.ERROR && retried ? logLevel.WARN : kafkaLevel;
      const fields = { namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          child.error(fields, message);
          break;
        case logLevel.WARN:
          child.warn(fields, message);
          break;
        case logLevel.INFO:
          child.debug(fields, message);
          break;
        default:
          child.trace(fields, message);
      }
    };
}

let warningFilterInstalled = false;

/**
 * kafkajs 2.2.4 schedules `setTimeout(fn, throttledUntil - now)` with a negative delay on its first request;
 * Node >= 23 prints a TimeoutNegativeWarning for it on every client (the delay is clamped to 1 ms, nothing is
 * wrong). Drop that one warning and forward every other warning to Node's own handlers.
 */
function silenceKafkajsTimeoutWarning(): void {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "TimeoutNegativeWarning") return;
    for (const listener of previous) listener(warning);
  });
}
