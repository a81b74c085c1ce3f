import { describe, expect, it } from "vitest";
import { HealthState, registry } from "../src/index.ts";

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

async function statusOf(service: string): Promise<string | undefined> {
  const text = await registry.getSingleMetricAsString("certstream_health_status");
  return new RegExp(`certstream_health_status\\{service="${service}"\\} (\\S+)`).exec(text)?.[1];
}

describe("HealthState", () => {
  it("publishes 0 / 1 / 0.5 and logs each transition with its reason and detail", async () => {
    const { lines, logger } = recorder();
    const h = new HealthState({ logger, service: "health-a" });
    expect(h.status).toBe("down");
    expect(await statusOf("health-a")).toBe("0");

    h.setReady(true, "partitions assigned", { partitions: [0, 1, 2] });
    expect(h.status).toBe("healthy");
    expect(await statusOf("health-a")).toBe("1");
    expect(lines.at(-1)).toMatchObject({
      level: "info",
      obj: { service: "health-a", health: "ready", reason: "partitions assigned", partitions: [0, 1, 2] },
    });

    h.setDegraded(true, "2 logs failing", { logs: { argon2026h1: "timeout" } });
    expect(await statusOf("health-a")).toBe("0.5");
    expect(lines.at(-1)).toMatchObject({
      level: "warn",
      obj: { status: "degraded", logs: { argon2026h1: "timeout" } },
    });

    const count = lines.length;
    h.setDegraded(true, "still failing");
    expect(lines.length).toBe(count); // no transition, no log

    h.setReady(false, "kafka unreachable");
    expect(await statusOf("health-a")).toBe("0");
    expect(lines.at(-1)).toMatchObject({
      level: "warn",
      obj: { health: "not ready", reason: "kafka unreachable" },
    });
    expect(h.snapshot()).toMatchObject({
      status: "down",
      live: true,
      ready: false,
      degraded: true,
      reasons: { ready: "kafka unreachable", degraded: "2 logs failing" },
    });
  });

  it("notifies listeners", () => {
    const { logger } = recorder();
    const h = new HealthState({ logger, service: "health-b" });
    const seen: string[] = [];
    h.onChange((s) => seen.push(s.status));
    h.setReady(true, "ok");
    h.setLive(false, "event loop stuck");
    expect(seen).toEqual(["healthy", "down"]);
  });
});
