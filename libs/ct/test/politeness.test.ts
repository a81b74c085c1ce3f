import { registry } from "@certstream/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../../test/ct-standin/faults.ts";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { backoffDelay, parseRetryAfter } from "../src/backoff.ts";
import { CtFetchError } from "../src/fetch-error.ts";
import { LogFetcher } from "../src/log-fetcher.ts";
import { LogHealth } from "../src/log-health.ts";
import { OperatorBudget, OperatorBudgets } from "../src/operator-budget.ts";
import { RfcLogClient } from "../src/rfc-log-client.ts";
import { drain, FAST_RETRY } from "./standin-helpers.ts";

describe("backoff and Retry-After", () => {
  it("grows exponentially with full jitter, capped", () => {
    const opts = { initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    expect(backoffDelay(10, opts, () => 0)).toBe(10);
  });
  it("parses delay-seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("999999")).toBe(600_000);
  });
});

describe("OperatorBudget", () => {
  it("halves its rate on 429, once per reaction window; pauses for Retry-After; climbs back when quiet", () => {
    let now = 0;
    const b = new OperatorBudget("Op", { ratePerSec: 8, recoverAfterMs: 1_000, now: () => now });
    b.onRateLimited(2_000);
    expect(b.rate).toBe(4);
    expect(b.pausedForMs).toBe(2_000);
    // A request that was in flight when the first 429 came back: the pause holds, the rate is not halved again.
    now += 500;
    b.onRateLimited();
    expect(b.rate).toBe(4);
    now += 2_000;
    b.onRateLimited();
    expect(b.rate).toBe(2);
    expect(b.pausedForMs).toBe(1_000);
    now += 1_000;
    expect(b.pausedForMs).toBe(0);
    // No step yet: the last 429 (and the pause) ended less than a step ago.
    expect(b.rate).toBe(2);
    now += 1_000;
    expect(b.rate).toBeCloseTo(2.8);
    for (let i = 0; i < 20; i++) {
      now += 1_000;
      expect(b.rate).toBeLessThanOrEqual(8);
    }
    expect(b.rate).toBe(8);
  });
  it("keeps most of its rate when a server refuses 2 % of requests at random", () => {
    // Simulated time: requests at the budget's current rate, each refused with probability 0.02 (1 s Retry-After).
    // With a long quiet period required before any recovery, the rate sank to its floor and stayed there.
    let now = 0;
    const b = new OperatorBudget("Random429", { ratePerSec: 10, now: () => now });
    const random = seededRandom(7);
    let rateSum = 0;
    let ticks = 0;
    while (now < 600_000) {
      now += Math.max(b.pausedForMs, 1000 / b.rate);
      if (random() < 0.02) b.onRateLimited(1_000);
      rateSum += b.rate;
      ticks++;
    }
    expect(rateSum / ticks).toBeGreaterThan(5);
    expect(b.rate).toBeGreaterThan(b.minRate);
  });
  it("is shared by all logs of an operator (case-insensitive), separate per operator", () => {
    const budgets = new OperatorBudgets({ rateLimits: { google: 3 }, defaultRatePerSec: 7 });
    expect(budgets.for("Google")).toBe(budgets.for("google"));
    expect(budgets.for("Google").maxRate).toBe(3);
    expect(budgets.for("Sectigo").maxRate).toBe(7);
  });
  it("spaces requests at the configured rate", async () => {
    const b = new OperatorBudget("Spaced", { ratePerSec: 20, burst: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 6; i++) await b.take();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
  });
});

describe("LogHealth circuit breaker", () => {
  it("opens after consecutive failures, lets one probe through, closes on success", () => {
    let now = 0;
    const h = new LogHealth("breaker-test", { failureThreshold: 3, openMs: 1_000, now: () => now });
    expect(h.state).toBe("healthy");
    h.onFailure();
    h.onFailure();
    expect(h.state).toBe("degraded");
    expect(h.waitMs()).toBe(0);
    h.onFailure();
    expect(h.circuit).toBe("open");
    expect(h.state).toBe("down");
    expect(h.waitMs()).toBe(1_000);
    now += 1_000;
    expect(h.circuit).toBe("half_open");
    expect(h.waitMs()).toBe(0); // the probe
    expect(h.waitMs()).toBeGreaterThan(0); // others wait for it
    h.onFailure(); // probe failed: open again, longer
    expect(h.waitMs()).toBe(2_000);
    now += 2_000;
    expect(h.waitMs()).toBe(0);
    h.onSuccess();
    expect(h.circuit).toBe("closed");
    now += 120_000;
    expect(h.state).toBe("healthy");
  });
});

describe("polite fetching against the stand-in", () => {
  const server = new StandInServer({
    rfc6962: [
      { name: "op-a", initialSize: 100, pageSize: 20, operator: "Shared Op" },
      { name: "op-b", initialSize: 100, pageSize: 20, operator: "Shared Op" },
    ],
  });
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("honours Retry-After, slows the operator shared by both logs, and sends the configured User-Agent", async () => {
    const budgets = new OperatorBudgets({ defaultRatePerSec: 50 });
    const a = server.rfc("op-a");
    a.faults.set({ rateLimited: 1, retryAfterSecs: 1, maxFaults: 1, endpoints: ["get-entries"] });
    const mk = (name: string) =>
      new RfcLogClient({
        ...server.rfcEndpoint(name),
        operator: "Shared Op",
        budget: budgets.for("Shared Op"),
        userAgent: "certstream-test/1.0 (politeness test)",
        retry: FAST_RETRY,
      });
    const t0 = performance.now();
    const [ra, rb] = await Promise.all([
      drain(mk("op-a").fetch(0, 100), 0),
      drain(mk("op-b").fetch(0, 100), 0),
    ]);
    const elapsed = performance.now() - t0;
    expect(ra.entries.length + rb.entries.length).toBe(200);
    expect(a.faults.counts.rateLimited).toBe(1);
    // The whole operator waited for Retry-After (1 s), not just the log that got the 429.
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(budgets.for("Shared Op").rate).toBe(25);
    expect(a.lastUserAgent).toBe("certstream-test/1.0 (politeness test)");
    const metrics = await registry.getSingleMetricAsString("certstream_ct_rate_limited_total");
    expect(metrics).toMatch(/certstream_ct_rate_limited_total\{log="op-a",operator="Shared Op"\} 1/);
    const latency = await registry.getSingleMetricAsString("certstream_ct_request_duration_seconds");
    expect(latency).toMatch(/endpoint="get-entries",status="429"/);
    expect(latency).toMatch(/endpoint="get-entries",status="200"/);
  });

  it("caps the response size (too_large is a refusal, reported as a gap after retries)", async () => {
    const f = new LogFetcher({
      log: "op-a",
      operator: "Shared Op",
      maxResponseBytes: 2_000,
      retry: { ...FAST_RETRY, maxAttempts: 2 },
    });
    const err = await f
      .get(`${server.url("op-a")}ct/v1/get-entries?start=0&end=19`, { endpoint: "get-entries" }, (b) => b)
      .catch((e) => e);
    expect(err).toBeInstanceOf(CtFetchError);
    expect((err as CtFetchError).kind).toBe("too_large");
    const c = new RfcLogClient({ name: "op-a", url: server.url("op-a"), fetcher: f, batchSize: 20 });
    const { gaps, entries } = await drain(c.fetch(0, 3), 0);
    // Single entries are below the cap: bisection delivers everything that fits.
    expect(entries.length + gaps.reduce((n, g) => n + g.end - g.start, 0)).toBe(3);
  });

  it("times out slow responses and retries them; the circuit opens on a dead log and requests wait", async () => {
    const b = server.rfc("op-b");
    b.faults.set({ slowMs: 300, maxFaults: 2 });
    const c = new RfcLogClient({
      name: "op-b",
      url: server.url("op-b"),
      requestTimeoutMs: 150,
      retry: FAST_RETRY,
      checkConsistency: false,
    });
    expect((await c.head()).treeSize).toBe(100);
    b.faults.set({});
    const dead = new LogFetcher({
      log: "dead",
      operator: "x",
      retry: FAST_RETRY,
      health: new LogHealth("dead", { failureThreshold: 2, openMs: 200 }),
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 600);
    const err = await dead
      .get("http://127.0.0.1:9/ct/v1/get-sth", { endpoint: "get-sth", signal: ac.signal }, (x) => x)
      .catch((e) => e);
    expect((err as CtFetchError).kind).toBe("aborted");
    expect(dead.health.state).toBe("down");
  });
});
