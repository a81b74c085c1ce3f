/**
 * The streamer against the real broker and registry: every endpoint with real clients (node ws, a raw SSE
 * reader, certstream-python), the JSON endpoints, filters, and resume by cursor and by timestamp.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeCursor } from "../src/cursor.ts";
import { streamerMetrics } from "../src/metrics.ts";
import { certstreamPython, type Msg, sseCollect, wsCollect } from "./clients.ts";
import {
  CertsTopic,
  entrySeries,
  type RunningStreamer,
  realEntries,
  sleep,
  startStreamer,
  waitFor,
} from "./harness.ts";

const expected = JSON.parse(
  readFileSync(
    new URL(
      "../../../../shared/testdata/certstream-examples/certstream-server-rust_live_ct_snapshots.json",
      import.meta.url,
    ),
    "utf8",
  ),
) as { cert_index: number; expected_lite: string; expected_full: string; expected_domains_only: string }[];

let topic: CertsTopic;
let s: RunningStreamer;
let nextBase = 3_000_000_000;
/** `n` fresh records (cert_index values never used before in this topic). */
function fresh(n: number) {
  const e = entrySeries(n, nextBase);
  nextBase += n;
  return e;
}

beforeAll(async () => {
  topic = await CertsTopic.create(3);
  // No replay buffer here: resumes below go through a Kafka reader (replay-buffer resumes are tested apart).
  s = await startStreamer(topic.topic, { streamer: { heartbeat_interval_secs: 1, replay_buffer_size: 0 } });
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

const LITE_DATA_KEYS = ["update_type", "leaf_cert", "cert_index", "cert_link", "seen", "source"];
const LEAF_KEYS = [
  "subject",
  "issuer",
  "serial_number",
  "not_before",
  "not_after",
  "fingerprint",
  "sha1",
  "sha256",
  "signature_algorithm",
  "is_ca",
  "all_domains",
  "extensions",
];

describe("WebSocket endpoints", () => {
  it("lite, full and domains-only (with and without trailing slash) each get their format", async () => {
    const paths = ["/", "/full-stream", "/full-stream/", "/domains-only", "/domains-only/"];
    const clients = paths.map((p) => wsCollect(`${s.wsUrl}${p}`));
    await Promise.all(clients.map((c) => c.opened));
    const real = realEntries();
    const batch = real.map((e, i) => ({ ...e, index: expected[i].cert_index }));
    await topic.produce(batch);
    await waitFor(() => clients.every((c) => c.certs().length >= 20), 20_000, "20 messages on every path");
    const [lite, full, fullSlash, domains, domainsSlash] = clients.map((c) => c.certs());
    for (const m of lite) {
      expect(m.message_type).toBe("certificate_update");
      for (const k of LITE_DATA_KEYS) expect(m.data).toHaveProperty(k);
      for (const k of LEAF_KEYS) expect(m.data.leaf_cert).toHaveProperty(k);
      expect(m.data.leaf_cert).not.toHaveProperty("as_der");
      expect(m.data).not.toHaveProperty("chain");
    }
    for (const m of [...full, ...fullSlash]) {
      expect(m.message_type).toBe("certificate_update");
      expect(typeof m.data.leaf_cert.as_der).toBe("string");
      expect(Array.isArray(m.data.chain)).toBe(true);
    }
    for (const m of [...domains, ...domainsSlash]) {
      expect(m.message_type).toBe("dns_entries");
      expect(Array.isArray(m.data)).toBe(true);
    }
    // Same certificates as certstream-server-rust's expected output (domains, as_der, chain length).
    for (const exp of expected) {
      const el = JSON.parse(exp.expected_lite);
      const ef = JSON.parse(exp.expected_full);
      const gl = lite.find((m) => m.data.cert_index === exp.cert_index);
      const gf = full.find((m) => m.data.cert_index === exp.cert_index);
      expect(gl.data.leaf_cert.all_domains).toEqual(el.data.leaf_cert.all_domains);
      expect(gl.data.leaf_cert.issuer.aggregated).toBe(el.data.leaf_cert.issuer.aggregated);
      expect(gf.data.leaf_cert.as_der).toBe(ef.data.leaf_cert.as_der);
      expect(gf.data.chain.length).toBe(ef.data.chain.length);
    }
    expect(new Set(domains.map((m) => JSON.stringify(m.data)))).toEqual(
      new Set(expected.map((e) => JSON.stringify(JSON.parse(e.expected_domains_only).data))),
    );
    for (const c of clients) c.ws.close();
  });

  it("heartbeats carry a timestamp and a resume cursor; client messages are ignored; oversize frames close 1009", async () => {
    const c = wsCollect(`${s.wsUrl}/?domain=nothing.invalid`);
    await c.opened;
    c.ws.send("hello");
    c.ws.send(JSON.stringify({ message_type: "whatever" }));
    await waitFor(() => c.messages.some((m) => m.message_type === "heartbeat"), 5000, "a heartbeat");
    const hb = c.messages.find((m) => m.message_type === "heartbeat");
    expect(typeof hb.timestamp).toBe("number");
    expect(Math.abs(hb.timestamp * 1000 - Date.now())).toBeLessThan(5000);
    expect(() => decodeCursor(hb.cursor)).not.toThrow();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.send(Buffer.alloc(70 * 1024, 0x61)); // default max_frame_bytes is 64 KiB
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
  });
});

describe("SSE", () => {
  it("each stream delivers events whose id is a cursor", async () => {
    const streams = ["lite", "full", "domains"];
    const clients = streams.map((st) => sseCollect(`${s.url}/sse?stream=${st}`));
    expect(await Promise.all(clients.map((c) => c.status))).toEqual([200, 200, 200]);
    await sleep(200);
    await topic.produce(fresh(10));
    await waitFor(() => clients.every((c) => c.certs().length >= 10), 20_000, "10 SSE events per stream");
    const [lite, full, domains] = clients.map((c) => c.certs());
    expect(lite[0].data.message_type).toBe("certificate_update");
    expect(lite[0].data.data.leaf_cert.as_der).toBeUndefined();
    expect(full[0].data.data.leaf_cert.as_der).toBeTypeOf("string");
    expect(domains[0].data.message_type).toBe("dns_entries");
    for (const e of lite) expect(decodeCursor(e.id as string).size).toBeGreaterThan(0);
    for (const c of clients) c.close();
    const bad = await fetch(`${s.url}/sse?stream=nope`);
    expect(bad.status).toBe(400);
  });

  it("resumes with Last-Event-ID: nothing produced while away is missing", async () => {
    const first = sseCollect(`${s.url}/sse?stream=lite`);
    await first.status;
    await sleep(200);
    const before = fresh(30);
    await topic.produce(before);
    await waitFor(() => first.certs().length >= 30, 20_000, "first 30");
    const lastId = first.lastId() as string;
    first.close();
    const away = fresh(40);
    await topic.produce(away);
    const second = sseCollect(`${s.url}/sse?stream=lite`, { "last-event-id": lastId });
    expect(await second.status).toBe(200);
    const after = fresh(20);
    await sleep(300);
    await topic.produce(after);
    const want = new Set([...away, ...after].map((e) => e.index));
    await waitFor(
      () => [...want].every((i) => second.certs().some((e) => e.data.data.cert_index === i)),
      30_000,
      "every message produced while away and after",
    );
    const got = second.certs().map((e) => e.data.data.cert_index);
    // no duplicates across the switch from the resume reader to the live feed
    expect(got.length).toBe(new Set(got).size);
    second.close();
  });
});

describe("resume from the replay buffer", () => {
  it("a recent cursor is served from memory, an older one falls back to Kafka; no gap either way", async () => {
    const m = await startStreamer(topic.topic, {
      streamer: { heartbeat_interval_secs: 1, replay_buffer_size: 50 },
    });
    try {
      const outcomes = async () => {
        const v = (await streamerMetrics.resumes.get()).values;
        const get = (o: string) => v.find((x) => x.labels.outcome === o)?.value ?? 0;
        return { memory: get("caught_up_memory"), kafka: get("caught_up_kafka") };
      };
      for (const [away, via] of [
        [20, "memory"],
        [120, "kafka"],
      ] as const) {
        const first = sseCollect(`${m.url}/sse?stream=lite`);
        await first.status;
        await sleep(200);
        await topic.produce(fresh(30)); // enough for every partition to have records since this replica started
        await waitFor(() => first.certs().length >= 30, 20_000, "first 30");
        const lastId = first.lastId() as string;
        first.close();
        const missed = fresh(away);
        await topic.produce(missed);
        await sleep(500); // let the live feed of this replica read them
        const before = await outcomes();
        const second = sseCollect(`${m.url}/sse?stream=lite`, { "last-event-id": lastId });
        expect(await second.status).toBe(200);
        await sleep(300);
        const live = fresh(5);
        await topic.produce(live);
        const want = [...missed, ...live].map((e) => e.index);
        await waitFor(
          () => want.every((i) => second.certs().some((e) => e.data.data.cert_index === i)),
          30_000,
          `resume via ${via} complete`,
        );
        const got = second.certs().map((e) => e.data.data.cert_index);
        expect(got.length).toBe(new Set(got).size);
        const after = await outcomes();
        expect(after[via] - before[via]).toBe(1);
        // the ids of replayed events are cursors too: resuming from one of them works
        expect(() => decodeCursor(second.lastId() as string)).not.toThrow();
        second.close();
      }
    } finally {
      await m.stop();
    }
  });
});

describe("resume over WebSocket", () => {
  it("since=<cursor from a heartbeat> and since=<timestamp>", async () => {
    const a = wsCollect(`${s.wsUrl}/`);
    await a.opened;
    await waitFor(() => a.messages.some((m) => m.message_type === "heartbeat" && m.cursor), 5000, "cursor");
    const cursor = a.messages.filter((m) => m.message_type === "heartbeat" && m.cursor).at(-1).cursor;
    a.ws.close();
    const t0 = Date.now();
    const away = fresh(25);
    await topic.produce(away);
    const byCursor = wsCollect(`${s.wsUrl}/full-stream?since=${cursor}`);
    const byTime = wsCollect(`${s.wsUrl}/domains-only?since=${(t0 - 500) / 1000}`);
    await Promise.all([byCursor.opened, byTime.opened]);
    const live = fresh(5);
    await sleep(300);
    await topic.produce(live);
    const want = [...away, ...live].map((e) => e.index);
    await waitFor(
      () => want.every((i) => byCursor.certs().some((m) => m.data.cert_index === i)),
      30_000,
      "cursor resume complete",
    );
    await waitFor(() => byTime.certs().length >= want.length, 30_000, "timestamp resume complete");
    expect(byCursor.certs()[0].data.leaf_cert.as_der).toBeTypeOf("string");
    byCursor.ws.close();
    byTime.ws.close();
    const bad = await new Promise<number>((resolve) => {
      const w = new WebSocket(`${s.wsUrl}/?since=garbage!`);
      w.on("unexpected-response", (_q, r) => resolve(r.statusCode ?? 0));
      w.on("error", () => {});
    });
    expect(bad).toBe(400);
  });
});

describe("filters", () => {
  it("domain, *.suffix, issuer and log match and non-match on WebSocket and SSE", async () => {
    const real = realEntries();
    const target = real.find((e) => e.leaf?.all_domains.includes("portal.dragonjar.org"));
    const le = real.filter((e) => e.leaf?.issuer.aggregated.includes("Let's Encrypt"));
    expect(target).toBeDefined();
    const exact = wsCollect(`${s.wsUrl}/?domain=portal.dragonjar.org`);
    const suffix = sseCollect(`${s.url}/sse?stream=domains&domain=*.dragonjar.org`);
    const issuer = wsCollect(`${s.wsUrl}/full-stream?issuer=${encodeURIComponent("let's encrypt")}`);
    const logMatch = wsCollect(`${s.wsUrl}/domains-only?log=argon2026h2`);
    const none = wsCollect(`${s.wsUrl}/?domain=portal.dragonjar.org.invalid,*.example.com`);
    const logNone = sseCollect(`${s.url}/sse?log=xenon`);
    await Promise.all([
      exact.opened,
      issuer.opened,
      logMatch.opened,
      none.opened,
      suffix.status,
      logNone.status,
    ]);
    await sleep(200);
    const batch = fresh(20);
    await topic.produce(batch);
    await waitFor(() => logMatch.certs().length >= 20, 20_000, "log filter gets all 20");
    await waitFor(() => issuer.certs().length >= le.length, 20_000, "issuer filter");
    await waitFor(() => exact.certs().length >= 1 && suffix.certs().length >= 1, 20_000, "domain filters");
    await sleep(500);
    expect(exact.certs().length).toBe(1);
    expect(exact.certs()[0].data.leaf_cert.all_domains).toContain("portal.dragonjar.org");
    expect(suffix.certs().length).toBe(1);
    expect(issuer.certs().length).toBe(le.length);
    for (const m of issuer.certs()) expect(m.data.leaf_cert.issuer.aggregated).toContain("Let's Encrypt");
    expect(none.certs().length).toBe(0);
    expect(logNone.certs().length).toBe(0);
    const bad = await fetch(`${s.url}/sse?domain=a.*.b`);
    expect(bad.status).toBe(400);
    for (const c of [exact, issuer, logMatch, none]) c.ws.close();
    suffix.close();
    logNone.close();
  });
});

describe("certstream-python", () => {
  for (const [path, type] of [
    ["/", "certificate_update"],
    ["/full-stream", "certificate_update"],
    ["/domains-only", "dns_entries"],
  ] as const) {
    it(`receives and parses ${path}`, async () => {
      const msgs = await certstreamPython(`${s.wsUrl}${path}`, 5, async () => {
        await sleep(200);
        await topic.produce(fresh(5));
      });
      expect(msgs.length).toBe(5);
      for (const m of msgs) expect(m.type).toBe(type);
      if (type === "certificate_update") {
        for (const m of msgs) expect(m.line).toMatch(/^\[\d{4}-\d\d-\d\dT/);
        expect(msgs.every((m) => m.has_der)).toBe(path === "/full-stream");
        expect(msgs.every((m) => m.has_chain)).toBe(path === "/full-stream");
      }
    });
  }
});

describe("HTTP endpoints", () => {
  it("latest.json (25 newest lite), example.json, health, ready, metrics, api/stats", async () => {
    await topic.produce(fresh(30));
    await waitFor(
      async () => ((await (await fetch(`${s.url}/api/stats`)).json()) as Msg).certificates_total >= 30,
      20_000,
      "30",
    );
    const latest = (await (await fetch(`${s.url}/latest.json`)).json()) as {
      messages: { data: { leaf_cert: object } }[];
    };
    expect(latest.messages.length).toBe(25);
    for (const m of latest.messages) expect(m.data.leaf_cert).not.toHaveProperty("as_der");
    const example = (await (await fetch(`${s.url}/example.json`)).json()) as Msg;
    expect(example.message_type).toBe("certificate_update");
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${s.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", partitions: 3, assigned: 3 });
    const stats = (await (await fetch(`${s.url}/api/stats`)).json()) as Msg;
    expect(stats).toHaveProperty("clients.lite.websocket");
    expect(stats).toHaveProperty("messages_per_second");
    expect(stats).toHaveProperty("consumer_lag.total");
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    // the HealthState follows the live reader: ready with every partition assigned = healthy (1)
    expect(metrics).toMatch(/^certstream_health_status\{service="streamer"\} 1$/m);
    expect(s.server.health.snapshot()).toMatchObject({ live: true, ready: true, status: "healthy" });
    for (const name of [
      "certstream_streamer_connections",
      "certstream_streamer_deliveries_total",
      "certstream_streamer_send_buffer_bytes",
      "certstream_streamer_disconnects_total",
      "certstream_http_requests_total",
    ])
      expect(metrics).toContain(name);
    const page = await fetch(`${s.url}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("EventSource");
  });
});
