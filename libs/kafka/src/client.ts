import type { Logger } from "@certstream/log";
import { instrumentKafka } from "@certstream/metrics";
import { Kafka, type KafkaConfig, type logCreator, logLevel } from "kafkajs";
import { applyKafkajsAbortedOrderFix } from "./kafkajs-patches/aborted-order.ts";
import { applyKafkajsIdleTimerFix } from "./kafkajs-patches/idle-timer.ts";
import { applyKafkajsPartitionAddsFix } from "./kafkajs-patches/partition-adds.ts";

export interface CreateKafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Passed through to kafkajs (retry, connectionTimeout, requestTimeout, ...). */
  kafkaConfig?: Omit<KafkaConfig, "brokers" | "clientId" | "logCreator" | "logLevel">;
}

/**
 * A kafkajs client that logs through pino, and whose producers, consumers and admins drive
 * certstream_kafka_connected (kafkajs's instrumentation events, libs/metrics instrumentKafka).
 * kafkajs is chatty at INFO (every consumer join, every producer connect), so its INFO becomes pino debug and its
 * DEBUG becomes trace; WARN and ERROR stay what they are.
 */
export function createKafka(options: CreateKafkaOptions): Kafka {
  silenceKafkajsTimeoutWarning();
  // kafkajs 2.2.4 spins a 1 ms timer per idle connection (~5% of a consumer's CPU): see kafkajs-patches/idle-timer.ts.
  applyKafkajsIdleTimerFix();
  // kafkajs 2.2.4 can hand aborted records to a read_committed reader: see kafkajs-patches/aborted-order.ts.
  applyKafkajsAbortedOrderFix();
  // Parallel per-partition sends made concurrent AddPartitionsToTxn requests: see kafkajs-patches/partition-adds.ts.
  applyKafkajsPartitionAddsFix();
  const { logger } = options;
  const kafka = new Kafka({
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
  return instrumentKafka(kafka);
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
      let level = kafkaLevel === logLevel.ERROR && retried ? logLevel.WARN : kafkaLevel;
      if (isHarmlessNotice(message, extra)) level = logLevel.DEBUG;
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

/**
 * kafkajs notices that are expected and handled, kept out of the operator's way (logged at trace):
 * - "Limiting retries for the idempotent producer may invalidate EoS guarantees": every idempotent producer here
 *   is transactional with a bounded retry (TRANSACTIONAL_RETRY). A send that gives up fails its transaction,
 *   which is aborted and redone from the last committed state; nothing is committed twice or lost. kafkajs's
 *   concern is the plain idempotent producer, whose records a later retry could reorder.
 * - CONCURRENT_TRANSACTIONS answers that kafkajs retries: after a commit the coordinator is still writing the
 *   markers of the transaction that ended and refuses the next one's first AddPartitionsToTxn for a few ms (the
 *   Java client retries it silently). Concurrent adds of our own no longer happen (kafkajs-patches/partition-adds.ts).
 */
const CONCURRENT_TRANSACTIONS =
  "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing";

export function isHarmlessNotice(message: string, extra: Record<string, unknown>): boolean {
  if (message === "Limiting retries for the idempotent producer may invalidate EoS guarantees") return true;
  return message.includes(CONCURRENT_TRANSACTIONS) || extra.error === CONCURRENT_TRANSACTIONS;
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
