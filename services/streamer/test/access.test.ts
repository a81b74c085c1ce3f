/**
 * Auth, connection limits, X-Forwarded-For, rate limit and max frame size — allowed and refused — and their
 * hot reload from the config file; then graceful shutdown (1001 "going away").
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@certstream/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, upgradeRequest } from "../../../test/raw-http.ts";
import { watchConfig } from "../src/config-watch.ts";
import { sseCollect, wsCollect, wsStatus } from "./clients.ts";
import { CertsTopic, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";

let topic: CertsTopic;
let s: RunningStreamer;
let stopWatch: () => void = () => {};
const dir = mkdtempSync(join(tmpdir(), "streamer-access-"));
const configPath = join(dir, "config.yaml");
let reloads = 0;

function writeConfig(yaml: string): void {
  writeFileSync(configPath, yaml);
}

async function reload(yaml: string): Promise<void> {
  const before = reloads;
  writeConfig(yaml);
  await waitFor(() => reloads > before, 10_000, "config reload");
}

const base = (over: string) => `
auth:
  enabled: true
  header_name: X-Api-Key
  tokens: [first-token]
connection_limit:
  enabled: true
  max_connections: 50
  per_ip_limit: 2
trusted_proxies: ["127.0.0.1"]
${over}`;

beforeAll(async () => {
  topic = await CertsTopic.create(1);
  writeConfig(base(""));
  const cfg = loadConfig({ path: configPath, argv: [], env: {} }).config;
  s = await startStreamer(topic.topic, { ...cfg, host: "127.0.0.1", port: 0 });
  stopWatch = watchConfig({
    path: configPath,
    env: {},
    intervalMs: 100,
    logger: (await import("./harness.ts")).log,
    apply: (c) => {
      s.server.applySettings(c);
      reloads++;
    },
  });
});
afterAll(async () => {
  stopWatch();
  await s?.stop();
  await topic?.close();
});

const key = (t: string) => ({ "x-api-key": t });

describe("auth", () => {
  it("refuses a missing or wrong token (401 before the upgrade), accepts a right one; header and ?token=", async () => {
    expect(await wsStatus(`${s.wsUrl}/`)).toBe(401);
    expect(await wsStatus(`${s.wsUrl}/`, key("wrong"))).toBe(401);
    expect(await wsStatus(`${s.wsUrl}/`, { authorization: "Bearer first-token" })).toBe(401);
    expect(await wsStatus(`${s.wsUrl}/`, key("Bearer first-token"))).toBe(101);
    expect(await wsStatus(`${s.wsUrl}/full-stream?token=first-token`)).toBe(101);
    expect((await fetch(`${s.url}/sse`)).status).toBe(401);
    const ok = sseCollect(`${s.url}/sse`, key("first-token"));
    expect(await ok.status).toBe(200);
    ok.close();
    expect((await fetch(`${s.url}/latest.json`)).status).toBe(401);
    expect((await fetch(`${s.url}/latest.json`, { headers: key("first-token") })).status).not.toBe(401);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
  });

  it("hot reload: a new token list applies without a restart", async () => {
    await reload(base("").replace("[first-token]", "[second-token]"));
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(401);
    expect(await wsStatus(`${s.wsUrl}/`, key("second-token"))).toBe(101);
    // an invalid file is refused and the running config stays
    const before = reloads;
    writeConfig("connection_limit:\n  per_ip_limit: -5\n");
    await sleep(600);
    expect(reloads).toBe(before);
    expect(await wsStatus(`${s.wsUrl}/`, key("second-token"))).toBe(101);
    await reload(base(""));
  });
});

describe("connection limits", () => {
  it("per-IP limit: 429 before the upgrade, for WebSocket and SSE; a slot frees on close", async () => {
    const a = wsCollect(`${s.wsUrl}/`, key("first-token"));
    const b = wsCollect(`${s.wsUrl}/`, key("first-token"));
    await Promise.all([a.opened, b.opened]);
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(429);
    expect((await fetch(`${s.url}/sse`, { headers: key("first-token") })).status).toBe(429);
    a.ws.close();
    await a.closed;
    await sleep(100);
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(101);
    b.ws.close();
    await b.closed;
  });

  it("a handshake that ws refuses (bad key, bad version) gives its connection slot back", async () => {
    const port = Number(new URL(s.url).port);
    for (const bad of ["Sec-WebSocket-Key: not-a-key", "Sec-WebSocket-Version: 99"]) {
      for (let i = 0; i < 3; i++) {
        const head = upgradeRequest("/", ["X-Api-Key: first-token", bad]).replace(
          bad.startsWith("Sec-WebSocket-Key")
            ? "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            : "Sec-WebSocket-Version: 13\r\n",
          "",
        );
        expect((await rawRequest(port, head)).status, bad).toBe(400);
      }
    }
    await sleep(100);
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(101);
  });

  it("X-Forwarded-For counts per client only from a trusted proxy", async () => {
    const h = (ip: string) => ({ ...key("first-token"), "x-forwarded-for": ip });
    const held = [wsCollect(`${s.wsUrl}/`, h("203.0.113.5")), wsCollect(`${s.wsUrl}/`, h("203.0.113.5"))];
    await Promise.all(held.map((c) => c.opened));
    expect(await wsStatus(`${s.wsUrl}/`, h("203.0.113.5"))).toBe(429);
    expect(await wsStatus(`${s.wsUrl}/`, h("203.0.113.6"))).toBe(101);
    // No longer trusted: the header is ignored, every connection is 127.0.0.1's (which holds 2 already... the held ones
    // were counted under 203.0.113.5, so 127.0.0.1 has room for 2).
    await reload(base("").replace('trusted_proxies: ["127.0.0.1"]', "trusted_proxies: []"));
    const direct = [wsCollect(`${s.wsUrl}/`, h("198.51.100.1")), wsCollect(`${s.wsUrl}/`, h("198.51.100.2"))];
    await Promise.all(direct.map((c) => c.opened));
    expect(await wsStatus(`${s.wsUrl}/`, h("198.51.100.3"))).toBe(429);
    for (const c of [...held, ...direct]) c.ws.close();
    await Promise.all([...held, ...direct].map((c) => c.closed));
    await reload(base(""));
  });

  it("global limit, raised by hot reload", async () => {
    await reload(
      base("")
        .replace("max_connections: 50", "max_connections: 1")
        .replace("per_ip_limit: 2", "per_ip_limit: 10"),
    );
    const one = wsCollect(`${s.wsUrl}/`, key("first-token"));
    await one.opened;
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(429);
    await reload(
      base("")
        .replace("max_connections: 50", "max_connections: 2")
        .replace("per_ip_limit: 2", "per_ip_limit: 10"),
    );
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(101);
    one.ws.close();
    await one.closed;
    await reload(base(""));
  });
});

describe("rate limit and frame size", () => {
  it("per-IP HTTP rate limit (health and metrics exempt), enabled by hot reload", async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${s.url}/api/stats`)).status).toBe(200);
    await reload(base("rate_limit:\n  enabled: true\n  requests_per_second: 1\n  burst: 3\n"));
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await fetch(`${s.url}/api/stats`)).status);
    expect(codes.slice(0, 3)).toEqual([200, 200, 200]);
    expect(codes.slice(3)).toEqual([429, 429]);
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).toBe(429);
    for (let i = 0; i < 5; i++) expect((await fetch(`${s.url}/health`)).status).toBe(200);
    await reload(base(""));
    expect((await fetch(`${s.url}/api/stats`)).status).toBe(200);
  });

  it("max inbound frame size: allowed below, 1009 above, changed by hot reload", async () => {
    const ok = wsCollect(`${s.wsUrl}/`, key("first-token"));
    await ok.opened;
    ok.ws.send("x".repeat(1000));
    await sleep(200);
    expect(ok.ws.readyState).toBe(1);
    ok.ws.close();
    await reload(base("streamer:\n  max_frame_bytes: 512\n"));
    const small = wsCollect(`${s.wsUrl}/`, key("first-token"));
    await small.opened;
    small.ws.send("x".repeat(1000));
    expect((await small.closed).code).toBe(1009);
    await reload(base(""));
  });
});

describe("graceful shutdown", () => {
  it("clients get 1001 going away, SSE streams end, new connections are refused", async () => {
    const ws = wsCollect(`${s.wsUrl}/`, key("first-token"));
    const sse = sseCollect(`${s.url}/sse`, key("first-token"));
    await ws.opened;
    await sse.status;
    const started = Date.now();
    await s.stop();
    expect(Date.now() - started).toBeLessThan(6000);
    expect(await ws.closed).toEqual({ code: 1001, reason: "going away" });
    await sse.ended;
    expect(await wsStatus(`${s.wsUrl}/`, key("first-token"))).not.toBe(101);
  });
});
