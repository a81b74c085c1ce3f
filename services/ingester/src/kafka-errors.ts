import { type FailureKind, failureKind } from "@certstream/metrics";

const FENCED_TYPES = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTION_COORDINATOR_FENCED"]);
const FENCED_CODES = new Set([47, 52, 90]);

/** Every error in a kafkajs error's cause / errors chain. */
function* chain(e: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (depth > 8 || typeof e !== "object" || e === null) return;
  const o = e as Record<string, unknown>;
  yield o;
  if (o.cause) yield* chain(o.cause, depth + 1);
  if (o.originalError) yield* chain(o.originalError, depth + 1);
  if (Array.isArray(o.errors)) for (const x of o.errors) yield* chain(x, depth + 1);
}

/** True when the broker says another producer with our transactional.id took over (we are a zombie). */
export function isFenced(e: unknown): boolean {
  for (const o of chain(e)) {
    if (typeof o.type === "string" && FENCED_TYPES.has(o.type)) return true;
    if (typeof o.code === "number" && FENCED_CODES.has(o.code)) return true;
  }
  return false;
}

/** Failure kind for metrics: fenced producers are a `conflict`; the rest as the shared taxonomy says. */
export function kafkaFailureKind(e: unknown): FailureKind {
  if (isFenced(e)) return "conflict";
  return failureKind(e);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
