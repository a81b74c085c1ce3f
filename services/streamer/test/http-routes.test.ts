/**
 * The streamer's own HTTP layer (http-routes.ts, in place of fastify): what a route table answers for what is
 * not a route, another method, HEAD, a handler that throws or rejects, and a server that drains; and that every
 * request is counted under its route template.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { http, registry } from "@certstream/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../../../test/raw-http.ts";
import { HttpRoutes, sendJson } from "../src/http-routes.ts";
import { StreamerServer } from "../src/server.ts";
import { streamerSettings } from "../src/settings.ts";
import { log } from "./harness.ts";

async function counted(route: string, method: string, status: number): Promise<number> {
  const m = await registry.getSingleMetric("certstream_http_requests_total")?.get();
  const v = m?.values.find(
    (x) => x.labels.route === route && x.labels.method === method && x.labels.status === String(status),
  );
  return v?.value ?? 0;
}

describe("HttpRoutes", () => {
  let server: Server;
  let base: string;
  let draining = false;
  beforeAll(async () => {
    const routes = new HttpRoutes({ log, draining: () => draining });
    routes.get("/ok", (_req, res, target) => sendJson(res, 200, { q: target.query.get("q") }));
    routes.get("/throws", () => {
      throw new Error("boom");
    });
    routes.get("/rejects", async () => {
      throw new Error("boom later");
    });
    server = http.createServer(routes.handle);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it("answers a route, 404 for no route, 405 for another method, 400 for a target that is no path", async () => {
    const ok = await fetch(`${base}/ok?q=x`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await ok.json()).toEqual({ q: "x" });
    const none = await fetch(`${base}/nope`);
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({ error: "no route /nope" });
    const post = await fetch(`${base}/ok`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const port = Number(new URL(base).port);
    expect((await rawRequest(port, "GET * HTTP/1.1\r\nHost: x\r\n\r\n")).status).toBe(400);
  });

  it("HEAD answers the headers of GET without the body", async () => {
    const head = await fetch(`${base}/ok?q=x`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength('{"q":"x"}')));
    expect(await head.text()).toBe("");
  });

  it("a handler that throws or rejects gets 500, and the server goes on", async () => {
    expect((await fetch(`${base}/throws`)).status).toBe(500);
    expect((await fetch(`${base}/rejects`)).status).toBe(500);
    expect((await fetch(`${base}/ok`)).status).toBe(200);
  });

  it("counts each request under its route template, or unmatched", async () => {
    const before = [await counted("/ok", "GET", 200), await counted("unmatched", "GET", 404)];
    await fetch(`${base}/ok?token=secret`);
    await fetch(`${base}/nope/${Math.random()}`);
    // counted when the response closes, after the client has it
    await new Promise((r) => setTimeout(r, 50));
    expect(await counted("/ok", "GET", 200)).toBe(before[0] + 1);
    expect(await counted("unmatched", "GET", 404)).toBe(before[1] + 1);
  });

  it("while draining, every request gets 503 and its connection is closed", async () => {
    draining = true;
    try {
      const r = await fetch(`${base}/ok`);
      expect(r.status).toBe(503);
      expect(r.headers.get("connection")).toBe("close");
    } finally {
      draining = false;
    }
  });
});

describe("the streamer's routes", () => {
  let server: StreamerServer;
  let base: string;
  beforeAll(async () => {
    server = new StreamerServer({
      settings: streamerSettings({ host: "127.0.0.1", port: 0 }),
      logger: log,
      source: null,
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  afterAll(() => server.shutdown());

  it("HEAD /sse gets the stream's headers and an end, and takes no connection", async () => {
    const head = await fetch(`${base}/sse?stream=full`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await head.text()).toBe("");
    const stats = (await (await fetch(`${base}/api/stats`)).json()) as { total_clients: number };
    expect(stats.total_clients).toBe(0);
  });

  it("serves the live page, /health and /api/stats; /sse with a bad stream is 400", async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain("<html");
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" });
    const stats = await fetch(`${base}/api/stats`);
    expect(stats.headers.get("access-control-allow-origin")).toBe("*");
    expect((await fetch(`${base}/sse?stream=nope`)).status).toBe(400);
  });
});
