// kafkajs-patches/idle-timer.ts: an idle, connected kafkajs client stops re-arming a 1 ms timer per broker
// connection once the fix is applied, and still produces. Measured on a real broker by counting the timers kafkajs
// arms while nothing is sent, first as shipped, then patched (the patch replaces a prototype method, so the same
// connections change behaviour).
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { kafkaBrokers, uniqueName } from "../../../test/stack.ts";
import { applyKafkajsIdleTimerFix } from "../src/index.ts";

/** setTimeout calls made during `ms` of idleness. */
async function timersArmedWhileIdle(ms: number): Promise<number> {
  const original = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    armed++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await new Promise((r) => original(r, ms));
  } finally {
    globalThis.setTimeout = original;
  }
  return armed;
}

describe("kafkajs idle-timer fix", () => {
  // kafkajs as shipped arms negative timeouts; Node 24 warns for each. Expected here, so not printed.
  const warningListeners = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (w) => {
    if (w.name !== "TimeoutNegativeWarning") for (const l of warningListeners) l(w);
  });
  afterAll(() => {
    process.removeAllListeners("warning");
    for (const l of warningListeners) process.on("warning", l);
  });

  it("an idle producer arms timers in a loop as shipped, and none once patched; it still produces", async () => {
    const kafka = new Kafka({
      clientId: "idle-timer-test",
      brokers: kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const topic = uniqueName("idle-timer");
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: "before" }] });
      const shipped = await timersArmedWhileIdle(500);
      expect(applyKafkajsIdleTimerFix()).toBe(true);
      await timersArmedWhileIdle(50); // timers armed before the patch run out
      const patched = await timersArmedWhileIdle(500);
      expect(shipped, `as shipped: ${shipped} timers in 500 ms`).toBeGreaterThan(50);
      expect(patched, `patched: ${patched} timers in 500 ms`).toBeLessThan(10);
      const [{ baseOffset }] = await producer.send({ topic, messages: [{ value: "after" }] });
      expect(baseOffset).toBe("1");
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 60_000);
});
