// Panic accounting (seed 001: "panic hook increments a panics_total counter and logs captured panics").
// In Node a panic is an uncaught exception or an unhandled rejection: count it, log it, mark the service
// down, give the log and one more scrape a moment, then exit 1 so the supervisor restarts a clean process.
import type { HealthState } from "./health.ts";
import type { MetricsLogger } from "./logger.ts";
import { counter } from "./registry.ts";

export const panics = counter({
  name: "certstream_panics_total",
  help: "Uncaught exceptions and unhandled rejections (the process exits after each)",
  labelNames: ["kind"],
});

export interface PanicHandlerOptions {
  /** How long to stay up after a panic so logs flush and a scrape can see the counter. Default 1000 ms. */
  exitDelayMs?: number;
  /** Marked not live when a panic happens. */
  health?: HealthState;
  /** Replaces process.exit (tests). */
  exit?: (code: number) => void;
}

/** Installs process handlers; returns a function that removes them. */
export function installPanicHandlers(logger: MetricsLogger, opts: PanicHandlerOptions = {}): () => void {
  const exitDelayMs = opts.exitDelayMs ?? 1000;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let exiting = false;

  const onPanic = (kind: "uncaught_exception" | "unhandled_rejection", err: unknown): void => {
    panics.inc({ kind });
    const fields = {
      kind,
      err:
        err instanceof Error
          ? { type: err.name, message: err.message, stack: err.stack }
          : { value: String(err) },
      exit_in_ms: exitDelayMs,
    };
    (logger.fatal ?? logger.error).call(logger, fields, `panic: ${kind}; exiting with code 1`);
    opts.health?.setLive(false, `panic: ${kind}`);
    if (exiting) return;
    exiting = true;
    const timer = setTimeout(() => {
      if (logger.flush) logger.flush(() => exit(1));
      else exit(1);
    }, exitDelayMs);
    // The timer must fire even if nothing else keeps the loop alive, but must not keep a test runner alive.
    if (opts.exit) timer.unref();
  };
  const onException = (err: unknown) => onPanic("uncaught_exception", err);
  const onRejection = (reason: unknown) => onPanic("unhandled_rejection", reason);
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}
