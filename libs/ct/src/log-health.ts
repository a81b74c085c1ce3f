import { ctCircuitTransitions, ctLogHealth } from "./metrics.ts";

// Per-log circuit breaker and health. After `failureThreshold` consecutive failed requests the circuit opens:
// requests wait (they are not failed: a log that is down for an hour must resume where it stopped) until
// `openMs` has passed, then one probe goes through (half-open); its success closes the circuit, its failure
// reopens it with a doubled cool-down (capped). Health: down while open, degraded after recent failures or
// 429s, healthy otherwise.

export type LogHealthState = "healthy" | "degraded" | "down";
export type CircuitState = "closed" | "open" | "half_open";

export interface LogHealthOptions {
  failureThreshold?: number;
  openMs?: number;
  maxOpenMs?: number;
  /** A failure or 429 keeps the log "degraded" for this long. */
  degradedForMs?: number;
  now?: () => number;
}

export class LogHealth {
  readonly log: string;
  readonly #threshold: number;
  readonly #baseOpenMs: number;
  readonly #maxOpenMs: number;
  readonly #degradedForMs: number;
  readonly #now: () => number;
  #consecutiveFailures = 0;
  #circuit: CircuitState = "closed";
  #openUntil = 0;
  #openMs: number;
  #lastTrouble = -Infinity;
  #probeInFlight = false;

  constructor(log: string, opts: LogHealthOptions = {}) {
    this.log = log;
    this.#threshold = opts.failureThreshold ?? 5;
    this.#baseOpenMs = opts.openMs ?? 5_000;
    this.#maxOpenMs = opts.maxOpenMs ?? 120_000;
    this.#degradedForMs = opts.degradedForMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
    this.#openMs = this.#baseOpenMs;
    this.#publish();
  }

  get circuit(): CircuitState {
    if (this.#circuit === "open" && this.#now() >= this.#openUntil) return "half_open";
    return this.#circuit;
  }

  get state(): LogHealthState {
    if (this.#circuit !== "closed") return "down";
    return this.#now() - this.#lastTrouble < this.#degradedForMs ? "degraded" : "healthy";
  }

  /**
   * Milliseconds a caller must wait before sending a request now (0 = go). In half-open state only one probe
   * is let through at a time; the others wait for its outcome.
   */
  waitMs(): number {
    const c = this.circuit;
    if (c === "closed") return 0;
    if (c === "open") return this.#openUntil - this.#now();
    if (this.#probeInFlight) return 250;
    this.#probeInFlight = true;
    return 0;
  }

  onSuccess(): void {
    this.#answered();
    this.#publish();
  }

  /** A failed request (network, timeout, 5xx). Refusals of a request (4xx) are not the log being down. */
  onFailure(): void {
    this.#lastTrouble = this.#now();
    this.#consecutiveFailures++;
    const probeFailed = this.#probeInFlight;
    this.#probeInFlight = false;
    if (probeFailed || (this.#circuit === "closed" && this.#consecutiveFailures >= this.#threshold)) {
      if (probeFailed) this.#openMs = Math.min(this.#maxOpenMs, this.#openMs * 2);
      this.#circuit = "open";
      this.#openUntil = this.#now() + this.#openMs;
      ctCircuitTransitions.inc({ log: this.log, state: "open" });
    }
    this.#publish();
  }

  /** A 429 or a refusal: not a failure of the log, but not healthy either. */
  onTrouble(): void {
    this.#lastTrouble = this.#now();
    this.#answered();
    this.#publish();
  }

  /** The log answered: it is up, so failures reset and an open (or probing) circuit closes. */
  #answered(): void {
    this.#consecutiveFailures = 0;
    this.#probeInFlight = false;
    if (this.#circuit !== "closed") {
      this.#circuit = "closed";
      this.#openMs = this.#baseOpenMs;
      ctCircuitTransitions.inc({ log: this.log, state: "closed" });
    }
  }

  #publish(): void {
    const s = this.state;
    ctLogHealth.set({ log: this.log }, s === "healthy" ? 1 : s === "degraded" ? 0.5 : 0);
  }
}
