import pino, { type DestinationStream, type LevelWithSilent, type Logger } from "pino";

export type { Logger };

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/**
 * One JSON line per event. `LOG_LEVEL` wins over the configured level so an operator can turn on debug
 * without touching the config file. `destination` defaults to stdout (a job on a terminal logs to a file instead,
 * so log lines never land among its progress bars).
 */
export function createLogger(name: string, level?: string, destination?: DestinationStream): Logger {
  const wanted = process.env.LOG_LEVEL ?? level ?? "info";
  const resolved = (LEVELS.has(wanted) ? wanted : "info") as LevelWithSilent;
  const options = {
    name,
    level: resolved,
    base: { service: name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: {
      paths: ["token", "tokens", "*.token", "*.tokens", "authorization", "*.authorization"],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
