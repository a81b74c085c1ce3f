/**
 * Two streamer processes on the same topic. Clients of replica A are cut off by SIGKILL and resume on
 * replica B with their cursor (SSE Last-Event-ID, WebSocket ?since= from the last heartbeat); every record
 * produced is received. Then SIGTERM on B: 1001 "going away" and a clean exit within the bound.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, type ServiceProcess } from "../../../test/service-process.ts";
import { sseCollect, wsCollect } from "./clients.ts";
import { CertsTopic, entrySeries, sleep, spawnStreamer, waitFor } from "./harness.ts";

let topic: CertsTopic;
const children: ServiceProcess[] = [];

beforeAll(async () => {
  topic = await CertsTopic.create(3);
});
afterAll(async () => {
  for (const c of children) c.signal("SIGKILL");
  await topic?.close();
});

it("kill a replica: its clients resume on the other by cursor with no missing message", {
  timeout: 120_000,
}, async () => {
  const yaml = "streamer:\n  heartbeat_interval_secs: 1\n";
  const [pa, pb] = [await freePort(), await freePort()];
  const [a, b] = await Promise.all([
    spawnStreamer(topic.topic, pa, yaml),
    spawnStreamer(topic.topic, pb, yaml),
  ]);
  children.push(a.proc, b.proc);

  const sseA = [sseCollect(`${a.url}/sse?stream=lite`), sseCollect(`${a.url}/sse?stream=domains`)];
  const wsA = wsCollect(`${a.url.replace("http", "ws")}/full-stream`);
  await Promise.all([...sseA.map((c) => c.status), wsA.opened]);

  // Produce continuously while A dies.
  const all = entrySeries(1200, 5_000_000_000);
  let produced = 0;
  const producing = (async () => {
    while (produced < all.length) {
      await topic.produce(all.slice(produced, produced + 40));
      produced += 40;
      await sleep(50);
    }
  })();
  await waitFor(() => produced >= 400 && sseA.every((c) => c.certs().length > 100), 30_000, "streaming on A");
  await waitFor(
    () => wsA.messages.some((m) => m.message_type === "heartbeat" && m.cursor),
    5000,
    "ws cursor",
  );
  a.proc.signal("SIGKILL");
  await Promise.all([wsA.closed, ...sseA.map((c) => c.ended)]);
  const wsCursor = wsA.messages.filter((m) => m.message_type === "heartbeat" && m.cursor).at(-1).cursor;

  // Reconnect to B, as EventSource and a certstream client with a cursor would.
  const sseB = sseA.map((c, i) =>
    sseCollect(`${b.url}/sse?stream=${i === 0 ? "lite" : "domains"}`, {
      "last-event-id": c.lastId() as string,
    }),
  );
  const wsB = wsCollect(`${b.url.replace("http", "ws")}/full-stream?since=${wsCursor}`);
  await Promise.all([...sseB.map((c) => c.status), wsB.opened]);
  await producing;

  const want = all.map((e) => e.index);
  const indexes = (before: { certs(): { data: { data: { cert_index: number } } }[] }, after: typeof before) =>
    new Set([...before.certs(), ...after.certs()].map((e) => e.data.data.cert_index));
  await waitFor(
    () => want.every((i) => indexes(sseA[0], sseB[0]).has(i)),
    60_000,
    "lite SSE client has everything",
  );
  await waitFor(
    () => want.every((i) => new Set([...wsA.certs(), ...wsB.certs()].map((m) => m.data.cert_index)).has(i)),
    60_000,
    "ws client has everything",
  );
  // domains-only messages carry no cert_index: compare counts instead (>= what was produced)
  await waitFor(
    () => sseA[1].certs().length + sseB[1].certs().length >= want.length,
    60_000,
    "domains SSE count",
  );
  const dupLite = sseA[0].certs().length + sseB[0].certs().length - want.length;
  console.log(`resume after kill: lite SSE duplicates across the resume = ${dupLite}`);

  // SIGTERM: clients get 1001, the process exits 0 within shutdown_timeout_ms (5 s) + slack.
  const t0 = Date.now();
  const exited = b.proc.exited;
  b.proc.signal("SIGTERM");
  expect(await wsB.closed).toEqual({ code: 1001, reason: "going away" });
  expect(await exited).toBe(0);
  expect(Date.now() - t0).toBeLessThan(8000);
  for (const c of sseB) c.close();
});
