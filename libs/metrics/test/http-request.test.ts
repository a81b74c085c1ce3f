import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { failureKind, httpRequest } from "../src/index.ts";

let server: Server | undefined;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

describe("httpRequest (node:http, not fetch)", () => {
  it("sends the method, headers and body, and answers any status with the whole text", async () => {
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.statusCode = 409;
        res.end(JSON.stringify({ method: req.method, type: req.headers["content-type"], body }));
      });
    });
    const answer = await httpRequest(`${url}/x`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '{"é":1}',
    });
    expect(answer.status).toBe(409);
    expect(JSON.parse(answer.text)).toEqual({ method: "PUT", type: "application/json", body: '{"é":1}' });
  });

  it("rejects an answer that does not finish in time, as a timeout", async () => {
    const url = await serve((_req, res) => res.write("partial")); // never ends
    const err = await httpRequest(url, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(failureKind(err)).toBe("timeout");
  });

  it("rejects an unreachable server as a network failure", async () => {
    const url = await serve(() => {});
    server?.close();
    await once(server as Server, "close");
    const err = await httpRequest(url).catch((e: unknown) => e);
    expect(failureKind(err)).toBe("network");
  });

  it("refuses an answer longer than maxBytes", async () => {
    const url = await serve((_req, res) => res.end("x".repeat(10_000)));
    await expect(httpRequest(url, { maxBytes: 1000 })).rejects.toThrow(/longer than 1000 bytes/);
    expect((await httpRequest(url, { maxBytes: 10_000 })).text).toHaveLength(10_000);
  });
});
