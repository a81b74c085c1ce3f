/**
 * The live page (GET / without upgrade) in a real headless Chromium driven over the DevTools protocol:
 * certificates scroll in over SSE, client counts and rate come from /api/stats; a screenshot is saved to
 * .cache/test-artifacts/live-page.png.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { repoRoot } from "../../../test/stack.ts";
import { CertsTopic, entrySeries, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";

let topic: CertsTopic;
let s: RunningStreamer;

beforeAll(async () => {
  topic = await CertsTopic.create(1);
  s = await startStreamer(topic.topic);
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

class Cdp {
  private id = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();
  readonly ws: WebSocket;
  constructor(url: string) {
    this.ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    this.ws.on("message", (d) => {
      const m = JSON.parse(String(d));
      if (m.id !== undefined) this.pending.get(m.id)?.(m.result ?? m);
    });
  }
  open(): Promise<void> {
    return new Promise((r) => this.ws.once("open", () => r()));
  }
  // biome-ignore lint/suspicious/noExplicitAny: DevTools protocol results are untyped JSON
  send(method: string, params: object = {}): Promise<any> {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((r) => this.pending.set(id, r));
  }
}

it("shows certificates arriving, filters, client counts and rate in headless Chromium", {
  timeout: 90_000,
}, async () => {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  const chrome = spawn(
    "chromium",
    [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "--window-size=1280,800",
      "about:blank",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let err = "";
      chrome.stderr.on("data", (d) => {
        err += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      });
      chrome.on("exit", (code) => reject(new Error(`chromium exited ${code}: ${err.slice(-1000)}`)));
    });
    const port = new URL(endpoint).port;
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("no page target");
    const cdp = new Cdp(page.webSocketDebuggerUrl);
    await cdp.open();
    await cdp.send("Page.enable");
    await cdp.send("Page.navigate", { url: `${s.url}/` });
    const evaluate = async (expr: string) =>
      (await cdp.send("Runtime.evaluate", { expression: expr, returnByValue: true })).result.value;
    await waitFor(
      async () => (await evaluate("document.getElementById('status').className")) === "live",
      20_000,
      "page connected",
    );
    let produced = 0;
    let stop = false;
    const producing = (async () => {
      while (!stop && produced < 2000) {
        await topic.produce(entrySeries(20, 6_000_000_000 + produced));
        produced += 20;
        await sleep(300);
      }
    })();
    await waitFor(
      async () => (await evaluate("document.querySelectorAll('#certs li.cert').length")) >= 20,
      30_000,
      "rows",
    );
    await waitFor(
      async () => Number(await evaluate("document.getElementById('rate').textContent")) > 0,
      20_000,
      "rate",
    );
    const rows: string[] = await evaluate(
      "[...document.querySelectorAll('#certs li.cert')].map(li => li.textContent)",
    );
    expect(rows.some((r) => r.includes("portal.dragonjar.org") || r.includes("Argon2026h2"))).toBe(true);
    expect(Number(await evaluate("document.getElementById('c-lite').textContent"))).toBeGreaterThanOrEqual(1);
    const shot = await cdp.send("Page.captureScreenshot", { format: "png" });
    const dir = `${repoRoot}/.cache/test-artifacts`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/live-page.png`, Buffer.from(shot.data, "base64"));
    expect(Buffer.from(shot.data, "base64").length).toBeGreaterThan(10_000);

    // Filters: apply a domain filter in the form; only matching certificates appear afterwards.
    await evaluate(
      "document.querySelector('input[name=domain]').value='*.dragonjar.org'; document.querySelector('#filters button').click(); 1",
    );
    await waitFor(
      async () => (await evaluate("document.getElementById('status').textContent")).includes("domain="),
      10_000,
      "refiltered",
    );
    await waitFor(
      async () => (await evaluate("document.querySelectorAll('#certs li.cert').length")) >= 1,
      30_000,
      "a filtered row",
    );
    const filtered: string[] = await evaluate(
      "[...document.querySelectorAll('#certs li.cert')].map(li => li.textContent)",
    );
    for (const r of filtered) expect(r).toContain("dragonjar.org");
    stop = true;
    await producing;
    cdp.ws.close();
  } finally {
    chrome.kill("SIGKILL");
  }
});
