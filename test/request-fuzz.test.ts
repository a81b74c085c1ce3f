/**
 * No request from a client may end a process (issue 12: one upgrade to `//` ended a streamer replica and every
 * client on it). Seeded fuzzing of the HTTP ports of a running ingester, streamer and delta sink (child
 * processes, as deployed): request targets, methods, headers and bodies, every query parameter of the
 * streamer, WebSocket upgrade variants, WebSocket frames after a valid upgrade, and bytes that are not HTTP
 * (test/fuzz-cases.ts). It fails on any process exit, on any 5xx that is not a documented one, on a stream
 * connection that is never released, and on resident memory growing past a bound.
 *
 * The seed is printed; FUZZ_SEED=<n> replays a run case for case. FUZZ_CASES (20000), FUZZ_CONCURRENCY (16)
 * and FUZZ_RSS_GROWTH_MB (see RSS_GROWTH_MB) tune it.
 */
import { randomInt } from "node:crypto";
import { connect } from "node:net";
import { CertificateEntryCodec, createKafka, entryKey, valueSubject } from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import type { Producer } from "kafkajs";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { realEntries } from "../libs/delta/test/fixtures/entries.ts";
import { type FuzzCase, fuzzCase } from "./fuzz-cases.ts";
import { rssOf } from "./process-memory.ts";
import { rawRequest, statusOf } from "./raw-http.ts";
import { HTTP_SERVICES, type HttpService, type RunningServices, startServices } from "./running-services.ts";
import { kafkaBrokers, registryUrl } from "./stack.ts";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const CASES = Number(process.env.FUZZ_CASES ?? 20_000);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 16);
/**
 * Resident memory a service may grow by from the end of the warm-up (the first 10% of cases) to the end of the
 * run. Measured on 20,000-40,000 cases: ingester and delta sink 5-15 MiB; the streamer 60-130 MiB, all of it
 * V8 growing its young generation under the allocation rate (old-space use stays 20-40 MiB, external memory
 * ~15 MiB, from /metrics). So this catches what a request could make a process keep (a retained socket or its
 * buffers: 10 KiB per request is 190 MiB here), not a few bytes per request.
 */
const RSS_GROWTH_MB = Number(process.env.FUZZ_RSS_GROWTH_MB ?? 192);
const MAX_FRAME_BYTES = 16 * 1024;

const log = createLogger("request-fuzz", process.env.LOG_LEVEL ?? "warn");
let services: RunningServices;
let producer: Producer;
let feeding: NodeJS.Timeout | undefined;
let watcher: WebSocket;
const watcherMessages: string[] = [];
let watcherClosed: string | null = null;

/**
 * The 5xx answers the services document, and only those:
 * - `/health` 503 when not live, `/health/ready` 503 when not ready (docs/observability.md, every service);
 * - streamer `/example.json` 503 before the first certificate (services/streamer/README.md);
 * - streamer WebSocket resume 503 while it cannot start (not connected to Kafka, every resume slot taken;
 *   services/streamer/README.md, Resume). An SSE resume waits instead.
 */
function documented5xx(c: FuzzCase, status: number): boolean {
  if (status !== 503) return false;
  if (c.path === "/health" || c.path === "/health/ready") return true;
  if (c.service !== "streamer") return false;
  if (c.path === "/example.json") return true;
  return (c.kind === "upgrade" || c.kind === "frames") && c.resume;
}

interface Outcome {
  status: number | null;
}

async function run(c: FuzzCase): Promise<Outcome> {
  const port = services.ports[c.service];
  if (c.kind !== "frames") {
    const a = await rawRequest(port, c.request, { timeoutMs: c.partial ? 300 : 2000 });
    return { status: a.status };
  }
  // A valid upgrade, then the frames; the connection ends when the server closes it or 100 ms after the last.
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let head = Buffer.alloc(0);
    let status: number | null = null;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status });
    };
    const timer = setTimeout(done, 2000);
    socket.on("error", done);
    socket.on("close", done);
    socket.on("data", (d: Buffer) => {
      if (status !== null) return; // frames from the server: not looked at
      head = Buffer.concat([head, d]);
      if (!head.includes("\r\n\r\n")) return;
      status = statusOf(head);
      if (status !== 101) return done();
      for (const f of c.frames) socket.write(f);
      setTimeout(done, 100);
    });
    socket.write(c.request);
  });
}

function rssMiB(pid: number | undefined): number {
  return pid === undefined ? Number.NaN : rssOf(pid) / (1024 * 1024);
}

beforeAll(async () => {
  services = await startServices("fuzz", {
    config: {
      // Limits on, low enough that slots never given back show as 429s: the fuzz holds at most CONCURRENCY.
      connection_limit: {
        enabled: true,
        max_connections: 10_000,
        per_ip_limit: Math.max(64, CONCURRENCY * 4),
      },
      // A replay buffer that fills during the warm-up: its growth is by design, not a leak.
      streamer: { heartbeat_interval_secs: 2, max_frame_bytes: MAX_FRAME_BYTES, replay_buffer_size: 100 },
      log_level: "error",
    },
  });
  // A trickle of real certificates on the certs topic, so streams carry data and /example.json has some.
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: "request-fuzz", logger: log });
  const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  const topic = services.topics.certs;
  await codec.register(valueSubject(topic));
  producer = kafka.producer();
  await producer.connect();
  const entries = realEntries();
  let next = 0;
  const feed = async () => {
    const batch = Array.from({ length: 5 }, () => ({ ...entries[next % entries.length], index: next++ }));
    await producer.send({
      topic,
      messages: batch.map((e) => ({ key: entryKey(e), value: codec.encodeSync(e, valueSubject(topic)) })),
    });
  };
  await feed();
  feeding = setInterval(() => void feed().catch(() => {}), 500);
  // A client connected through the whole run: a replica that died or dropped it would show here.
  watcher = new WebSocket(`ws://127.0.0.1:${services.ports.streamer}/full-stream`);
  watcher.on("message", (d) => watcherMessages.push(String(d)));
  watcher.on("close", (code) => {
    watcherClosed = `closed ${code}`;
  });
  await new Promise<void>((resolve, reject) => {
    watcher.once("open", () => resolve());
    watcher.once("error", reject);
  });
}, 180_000);

afterAll(async () => {
  if (feeding) clearInterval(feeding);
  watcher?.terminate();
  await producer?.disconnect().catch(() => {});
  await services?.stop();
});

it(`${CASES} seeded requests: no process exits, no undocumented 5xx, no leaked connection, bounded memory`, async () => {
  console.log(
    `request fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays it), ${CASES} cases, concurrency ${CONCURRENCY}`,
  );
  const started = Date.now();
  const recent = new Map<HttpService, string[]>(HTTP_SERVICES.map((s) => [s, []]));
  const statuses = new Map<string, number>();
  const kinds = new Map<string, number>();
  const failures: string[] = [];
  const baseline = new Map<HttpService, number>();
  const peak = new Map<HttpService, number>();
  const warmup = Math.floor(CASES * 0.1);
  let nextCase = 0;
  let finished = 0;

  const exited = (): string | null => {
    for (const [s, how] of services.exits) {
      const last = (recent.get(s) ?? []).join("\n  ");
      return `${s} exited (${how}) during the fuzz, seed ${SEED}; its last cases:\n  ${last}\n${services.procs[s].tail(30)}`;
    }
    return null;
  };
  const sampleRss = () => {
    for (const s of HTTP_SERVICES) peak.set(s, Math.max(peak.get(s) ?? 0, rssMiB(services.procs[s].pid)));
  };

  const worker = async () => {
    for (;;) {
      const i = nextCase++;
      if (i >= CASES || failures.length >= 20 || services.exits.size > 0) return;
      const c = fuzzCase(SEED, i, { maxFrameBytes: MAX_FRAME_BYTES });
      const r = recent.get(c.service) as string[];
      r.push(`#${i} ${c.kind}: ${c.label}`);
      if (r.length > 40) r.shift();
      const { status } = await run(c);
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      const key = `${c.service} ${status ?? "none"}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (status !== null && status >= 500 && !documented5xx(c, status))
        failures.push(`case #${i} (seed ${SEED}) ${c.service} answered ${status}: ${c.kind} ${c.label}`);
      // No rate limit here, and 16 clients cannot reach the per-IP limit: a 429 is a slot never released.
      if (status === 429)
        failures.push(`case #${i} (seed ${SEED}) ${c.service} answered 429: ${c.kind} ${c.label}`);
      finished++;
      if (finished === warmup) for (const s of HTTP_SERVICES) baseline.set(s, rssMiB(services.procs[s].pid));
      if (finished % 500 === 0) sampleRss();
      if (finished % Math.max(1, Math.floor(CASES / 5)) === 0)
        console.log(
          `request fuzz: ${finished} cases, RSS MiB ${HTTP_SERVICES.map((x) => `${x} ${rssMiB(services.procs[x].pid).toFixed(0)}`).join(", ")}`,
        );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const died = exited();
  if (died) throw new Error(died);
  const seconds = (Date.now() - started) / 1000;

  // Let closes and timers run their course, then check what the run left behind.
  await new Promise((r) => setTimeout(r, 2000));
  sampleRss();
  const end = new Map(HTTP_SERVICES.map((s) => [s, rssMiB(services.procs[s].pid)]));
  const stats = async () =>
    (await (await fetch(`http://127.0.0.1:${services.ports.streamer}/api/stats`)).json()) as {
      total_clients: number;
      waiting_clients: number;
      resuming_clients: number;
    };
  const deadline = Date.now() + 15_000;
  let s = await stats();
  while (
    Date.now() < deadline &&
    (s.total_clients !== 1 || s.resuming_clients !== 0 || s.waiting_clients !== 0)
  ) {
    await new Promise((r) => setTimeout(r, 250));
    s = await stats();
  }

  console.log(
    [
      `request fuzz: ${finished} cases in ${seconds.toFixed(1)} s (seed ${SEED})`,
      `  cases: ${JSON.stringify(Object.fromEntries(kinds))}`,
      `  answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
      ...HTTP_SERVICES.map(
        (x) =>
          `  ${x} RSS MiB: after warm-up ${baseline.get(x)?.toFixed(1)}, peak ${peak.get(x)?.toFixed(1)}, end ${end.get(x)?.toFixed(1)}`,
      ),
    ].join("\n"),
  );
  expect(failures, `undocumented 5xx or leaked connection slots (seed ${SEED})`).toEqual([]);
  expect(finished).toBe(CASES);
  expect(exited()).toBeNull();
  for (const x of HTTP_SERVICES) {
    expect((await fetch(`http://127.0.0.1:${services.ports[x]}/health`)).status, `${x} /health`).toBe(200);
    const growth = (end.get(x) ?? 0) - (baseline.get(x) ?? 0);
    expect(growth, `${x} RSS growth in MiB after warm-up (seed ${SEED})`).toBeLessThan(RSS_GROWTH_MB);
  }
  expect(s, "every fuzz connection released; the watcher is the one client left").toMatchObject({
    total_clients: 1,
    resuming_clients: 0,
    waiting_clients: 0,
  });
  expect(watcherClosed, "the client connected through the run").toBeNull();
  expect(watcherMessages.some((m) => m.includes('"certificate_update"'))).toBe(true);
  const fresh = await rawRequest(
    services.ports.streamer,
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  expect(fresh.status, "a new client still connects").toBe(101);
}, 300_000);
