// The slice of a pino logger this library needs; any pino logger (libs/log createLogger) satisfies it.
export interface MetricsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal?(obj: object, msg?: string): void;
  flush?(cb?: (err?: Error) => void): void;
}
