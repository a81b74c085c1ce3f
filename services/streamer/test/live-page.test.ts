/**
 * The live page (GET / without upgrade) in headless Chromium (Debian's, driven by playwright-core), in one
 * browser session: certificates arrive over SSE with millisecond times; pause, and pause while the pointer is
 * over the list, keep the rows still; a click opens a row's details; the search filters what was received;
 * per-log and per-issuer counters, the rate sparkline and the dedup share are shown; the server-side filter form
 * reconnects; and when the streamer goes away the page says so. A screenshot (details open, list held by the
 * pointer, counters filled) is saved to .cache/test-artifacts/live-page.png.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { repoRoot } from "../../../test/stack.ts";
import {
  CertsTopic,
  entrySeries,
  type RunningStreamer,
  realEntries,
  sleep,
  startStreamer,
  waitFor,
} from "./harness.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let topic: CertsTopic;
let s: RunningStreamer | undefined;
let ingesterApi: Server;
let browser: Browser | undefined;
// The dedup counters a stand-in ingester API reports: the stream's quiet spell after a restart of the logs.
const dedup = { forwarded: 1000, duplicates: 0 };

beforeAll(async () => {
  ingesterApi = createServer((_req, res) => {
    dedup.forwarded += 10;
    dedup.duplicates += 90;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ replica: "test-ingester", logs: [], dedup }));
  });
  await new Promise<void>((r) => ingesterApi.listen(0, "127.0.0.1", () => r()));
  const apiUrl = `http://127.0.0.1:${(ingesterApi.address() as AddressInfo).port}/api/logs`;
  topic = await CertsTopic.create(1);
  s = await startStreamer(topic.topic, { streamer: { dedup_stats_urls: [apiUrl] } });
});
afterAll(async () => {
  await browser?.close();
  await s?.stop();
  await topic?.close();
  await new Promise((r) => ingesterApi?.close(r));
});

const rowTexts = (page: Page) => page.locator("#certs li.cert").allTextContents();

it("live page: pause, hover pause, row details, search, counters, sparkline, dedup share, filters, connection state", {
  timeout: 120_000,
}, async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: scripts/setup.sh installs Debian's chromium`);
  const streamer = s as RunningStreamer;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // This machine's Chromium flags (no sandbox as root, nothing reaching out to Google's services).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
    // launch() gives every run a fresh profile (a new temporary --user-data-dir) of its own.
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1250 } });
  await page.goto(`${streamer.url}/`);
  await page.waitForSelector("#conn.connected", { timeout: 20_000 });

  let produced = 0;
  let stop = false;
  const producing = (async () => {
    while (!stop && produced < 4000) {
      await topic.produce(entrySeries(20, 6_000_000_000 + produced));
      produced += 20;
      await sleep(300);
    }
  })();
  try {
    await waitFor(async () => (await page.locator("#certs li.cert").count()) >= 30, 30_000, "rows");
    // Times to the millisecond.
    expect(await page.locator("#certs li.cert .t").first().textContent()).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3}\s*$/,
    );

    // Pause: the rows stand still while certificates keep arriving, and the page says how many it holds back.
    await page.mouse.move(5, 5);
    await page.click("#pause");
    const held = await rowTexts(page);
    const receivedAtPause = Number(await page.textContent("#received"));
    await waitFor(
      async () => Number(await page.textContent("#received")) >= receivedAtPause + 20,
      15_000,
      "more received",
    );
    expect(await rowTexts(page)).toEqual(held);
    expect(await page.textContent("#pause-state")).toMatch(/^paused — \d+ new not shown$/);
    await page.click("#pause");
    expect(await page.textContent("#pause")).toBe("pause");
    expect((await rowTexts(page))[0]).not.toBe(held[0]);

    // The pointer over the list holds it too.
    await page.hover("#certs li.cert >> nth=3");
    expect(await page.textContent("#pause-state")).toContain("pointer is over the list");
    const hovered = await rowTexts(page);
    const receivedAtHover = Number(await page.textContent("#received"));
    await waitFor(
      async () => Number(await page.textContent("#received")) >= receivedAtHover + 20,
      15_000,
      "more received",
    );
    expect(await rowTexts(page)).toEqual(hovered);

    // A click on a row opens its details: every field a user wants to copy.
    const real = realEntries().find((e) => e.leaf?.all_domains.includes("portal.dragonjar.org"));
    if (!real?.leaf) throw new Error("fixture changed: portal.dragonjar.org missing");
    await page.locator("#certs li.cert", { hasText: "portal.dragonjar.org" }).first().click();
    await page.waitForSelector("#details:not([hidden])");
    const field = (name: string) => page.textContent(`#details dd[data-field="${name}"]`);
    expect(await field("domains")).toBe(real.leaf.all_domains.join("\n"));
    const colons = (hex: string) => hex.toUpperCase().match(/../g)?.join(":");
    expect([real.leaf.serial_number.toUpperCase(), colons(real.leaf.serial_number)]).toContain(
      (await field("serial"))?.toUpperCase(),
    );
    expect((await field("sha256"))?.replaceAll(":", "").toLowerCase()).toBe(
      real.leaf.sha256.replaceAll(":", "").toLowerCase(),
    );
    expect(await field("log")).toContain("Argon2026h2");
    expect(await field("index")).toMatch(/^6\d{9}$/);
    expect(await field("not after")).toMatch(/^20\d\d-\d\d-\d\dT/);
    expect(await field("issuer")).toContain("Google Trust Services");
    const link = await page.getAttribute('#details dd[data-field="cert_link"] a', "href");
    expect(link).toMatch(/get-entries\?start=6\d{9}&end=6\d{9}$/);

    // Counters per log and per issuer, the sparkline, the dedup share and its explanation.
    await waitFor(async () => (await page.locator("#panel-logs td.k").count()) >= 1, 5_000, "log counters");
    expect(await page.locator("#panel-logs td.k").first().textContent()).toContain("Argon2026h2");
    // The panels redraw once a second: the count catches up with what was received within one redraw.
    await waitFor(
      async () => Number(await page.locator("#panel-logs td.n").first().textContent()) > 30,
      5_000,
      "the log counter",
    );
    expect(await page.locator("#panel-issuers td.k").count()).toBeGreaterThanOrEqual(2);
    // The page reads the v2 message: the tree-verification panel counts states (these test records carry none:
    // unverifiable) and the details show it.
    expect(await page.locator("#panel-verified td.k").first().textContent()).toBe("unverifiable");
    // 119 completed seconds; one at least with certificates in it (above the baseline) once a second has passed.
    const points = async () => ((await page.getAttribute("#spark polyline", "points")) ?? "").split(" ");
    expect((await points()).length).toBe(119);
    await waitFor(async () => (await points()).some((p) => Number(p.split(",")[1]) < 39), 5_000, "sparkline");
    await waitFor(async () => /^\d+ %/.test((await page.textContent("#dedup")) ?? ""), 15_000, "dedup share");
    expect(await page.textContent("#dedup")).toMatch(/^(8\d|9\d) % \(\d+ of \d+, 60 s\)$/);
    expect(await page.isVisible("#quiet-hint")).toBe(true);

    const shot = await page.screenshot({ fullPage: false });
    const dir = `${repoRoot}/.cache/test-artifacts`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/live-page.png`, shot);
    expect(shot.length).toBeGreaterThan(20_000);

    // The search goes over everything received, not only the rows on screen.
    await page.mouse.move(5, 5);
    await page.fill("#search", "dragonjar");
    const found = await rowTexts(page);
    expect(found.length).toBeGreaterThan(0);
    for (const r of found) expect(r).toContain("dragonjar");
    expect(await page.textContent("#search-count")).toMatch(/^\d+ of \d+ received match$/);
    await page.fill("#search", "");

    // A filter the server refuses: the page says why instead of retrying in silence.
    await page.fill("input[name=domain]", "foo.*.com");
    await page.click("#filters button");
    await page.waitForSelector("#conn.lost", { timeout: 10_000 });
    await waitFor(
      async () => ((await page.textContent("#conn")) ?? "").startsWith("refused (400)"),
      10_000,
      "refusal",
    );
    expect(await page.textContent("#conn")).toContain('a wildcard is only allowed as "*.suffix"');

    // The server-side filter: a new connection that only carries matching certificates.
    await page.fill("input[name=domain]", "*.dragonjar.org");
    await page.click("#filters button");
    await waitFor(
      async () => ((await page.textContent("#stream-url")) ?? "").includes("domain="),
      10_000,
      "refiltered",
    );
    await waitFor(async () => (await page.locator("#certs li.cert").count()) >= 1, 30_000, "a filtered row");
    for (const r of await rowTexts(page)) expect(r).toContain("dragonjar.org");
  } finally {
    stop = true;
    await producing;
  }

  // The streamer goes away: the page shows it is no longer connected.
  await streamer.stop();
  s = undefined;
  await page.waitForSelector("#conn.reconnecting, #conn.lost", { timeout: 20_000 });
});
