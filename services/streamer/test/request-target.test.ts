/**
 * Request targets that `new URL(target, base)` throws on (`//`, `///`, `//a:99999/`, `//[`) once ended the
 * streamer from its 'upgrade' handler (issue 12). Every target is answered; none ends the process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, upgradeRequest } from "../../../test/raw-http.ts";
import { parseRequestTarget } from "../src/request-target.ts";
import { StreamerServer } from "../src/server.ts";
import { streamerSettings } from "../src/settings.ts";
import { log } from "./harness.ts";

describe("parseRequestTarget", () => {
  it("takes origin-form paths as sent, empty segments included", () => {
    for (const t of ["//", "///", "//a:99999/", "//[", "//x/full-stream"]) {
      expect(parseRequestTarget(t)?.pathname).toBe(t);
    }
    const t = parseRequestTarget("/full-stream?domain=a.com,b.com&domain=c.com&since=1#frag");
    expect(t?.pathname).toBe("/full-stream");
    expect(t?.query.getAll("domain")).toEqual(["a.com,b.com", "c.com"]);
    expect(t?.query.get("since")).toBe("1");
    expect(parseRequestTarget("//[?x=%ZZ")?.query.get("x")).toBe("%ZZ");
    expect(parseRequestTarget(undefined)?.pathname).toBe("/");
  });

  it("reads absolute-form, refuses authority-form, asterisk-form and garbage", () => {
    expect(parseRequestTarget("http://h:1/domains-only?log=x")?.pathname).toBe("/domains-only");
    expect(parseRequestTarget("ws://h/")?.query.size).toBe(0);
    for (const t of ["*", "h:443", "", "a b", "javascript:alert(1)", "http://[", "file:///etc/passwd"]) {
      expect(parseRequestTarget(t), t).toBeNull();
    }
  });
});

describe("a streamer answers every request target", () => {
  let server: StreamerServer;
  let port: number;
  beforeAll(async () => {
    server = new StreamerServer({
      settings: streamerSettings({ host: "127.0.0.1", port: 0 }),
      logger: log,
      source: null,
    });
    port = await server.listen();
  });
  afterAll(() => server.shutdown());

  it("upgrades to //, ///, //a:99999/, //[ get 404, and the server goes on", async () => {
    for (const target of ["//", "///", "//a:99999/", "//[", "//x/full-stream"]) {
      const a = await rawRequest(port, upgradeRequest(target));
      expect(a.status, target).toBe(404);
    }
    expect((await rawRequest(port, upgradeRequest("*"))).status).toBe(400);
    expect((await rawRequest(port, upgradeRequest("/full-stream"))).status).toBe(101);
    expect((await rawRequest(port, upgradeRequest("http://x/full-stream?domain=a.com"))).status).toBe(101);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it("SSE and JSON routes answer odd queries with 4xx or 200, never 5xx", async () => {
    // `stream` names an own key of the stream table only (not `constructor`, `__proto__`, `toString`)
    for (const stream of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const res = await fetch(`http://127.0.0.1:${port}/sse?stream=${stream}`);
      expect(res.status, stream).toBe(400);
      await res.body?.cancel();
    }
    for (const target of ["/sse?%", "/sse?stream=lite&domain=%E0%A4%A", "/latest.json?token=%"]) {
      const a = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(a.status, target).toBeLessThan(500);
    }
  });
});
