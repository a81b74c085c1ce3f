import { createRequire } from "node:module";

/**
 * kafkajs 2.2.4 keeps a 1 ms timer loop running on every broker connection even with nothing to send: its request
 * queue re-schedules `checkPendingRequests` with `throttledUntil - Date.now()`, which is negative when not
 * throttled (tulios/kafkajs#1556, #1704; Node 24 prints TimeoutNegativeWarning for it, #1751). Profiling the sink
 * showed it as ~5% of the CPU. This applies the fix discussed upstream (PR #1667, comments on #1768): do not
 * schedule a check when nothing is pending and the connection is not throttled. A pushed request that cannot go
 * out at once is pending, and a fulfilled request checks the queue itself, so nothing waits on the removed timer.
 *
 * kafkajs has no `exports` map, so its internal module is reachable; if the layout differs (another version), the
 * patch is skipped and kafkajs behaves as shipped.
 */
interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for("certstream.kafkajs.idleTimerFix");
const CHECK_PENDING_REQUESTS_INTERVAL = 10; // kafkajs's own constant

export function applyKafkajsIdleTimerFix(): boolean {
  let RequestQueue: { prototype: RequestQueueLike & { [PATCHED]?: boolean } };
  try {
    const require = createRequire(import.meta.url);
    RequestQueue = require("kafkajs/src/network/requestQueue/index.js");
  } catch {
    return false;
  }
  const proto = RequestQueue?.prototype;
  if (!proto || typeof proto.scheduleCheckPendingRequests !== "function") return false;
  if (proto[PATCHED]) return true;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueLike): void {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) {
      scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    } else if (scheduleAt <= 0) {
      return; // nothing to send and not throttled: the next push or fulfilled request checks the queue
    }
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
  proto[PATCHED] = true;
  return true;
}
