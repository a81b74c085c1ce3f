import { describe, expect, it } from "vitest";
import { HealthState, installPanicHandlers, registry } from "../src/index.ts";

describe("installPanicHandlers", () => {
  it("counts, logs, marks the service not live and exits 1 after the delay", async () => {
    const logged: { obj: Record<string, unknown>; msg?: string }[] = [];
    const log = (obj: object, msg?: string) => logged.push({ obj: obj as Record<string, unknown>, msg });
    const logger = { info: log, warn: log, error: log, fatal: log };
    const health = new HealthState({ logger, service: "panic-test" });
    health.setReady(true, "ok");
    const exits: number[] = [];
    const uninstall = installPanicHandlers(logger, { exitDelayMs: 20, health, exit: (c) => exits.push(c) });
    try {
      // Emitting directly runs our handlers without vitest's own uncaught-exception reporting kicking in.
      const emit = process.emit.bind(process) as (event: string, ...args: unknown[]) => boolean;
      emit("uncaughtException", new Error("boom"), "uncaughtException");
      emit("unhandledRejection", new Error("later"), Promise.resolve());
      expect(exits).toEqual([]);
      await new Promise((r) => setTimeout(r, 60));
      expect(exits).toEqual([1]); // one exit, however many panics
      const text = await registry.getSingleMetricAsString("certstream_panics_total");
      expect(text).toContain('certstream_panics_total{kind="uncaught_exception"} 1');
      expect(text).toContain('certstream_panics_total{kind="unhandled_rejection"} 1');
      expect(logged.find((l) => l.msg?.startsWith("panic: uncaught_exception"))?.obj).toMatchObject({
        err: { message: "boom" },
      });
      expect(health.live).toBe(false);
    } finally {
      uninstall();
    }
  });
});
