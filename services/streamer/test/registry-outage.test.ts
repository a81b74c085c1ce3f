/**
 * While the schema registry is unreachable the live feed waits instead of skipping records (lag grows); when
 * it is back every record is delivered. A record that can never decode is counted and skipped.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertsSource } from "../src/certs-source.ts";
import { streamerMetrics } from "../src/metrics.ts";
import { StreamerServer } from "../src/server.ts";
import { streamerSettings } from "../src/settings.ts";
import { wsCollect } from "./clients.ts";
import { CertsTopic, entrySeries, log, sleep, waitFor } from "./harness.ts";

/** A TCP proxy in front of the real registry that can be switched off (connections refused) and on. */
class SwitchableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  private readonly target: URL;
  constructor(target: URL) {
    this.target = target;
  }
  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(this.port, "127.0.0.1", () => r()));
    const a = server.address();
    this.port = typeof a === "object" && a ? a.port : 0;
    this.server = server;
  }
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }
}

let topic: CertsTopic;
let proxy: SwitchableProxy;
let server: StreamerServer;

beforeAll(async () => {
  topic = await CertsTopic.create(1);
  const real = new URL(registryUrl());
  proxy = new SwitchableProxy(real);
  await proxy.up();
  await proxy.down(); // keep the port, refuse connections
  const source = new CertsSource({
    brokers: kafkaBrokers(),
    registryUrl: `http://127.0.0.1:${proxy.port}${real.pathname}`,
    topic: topic.topic,
    clientId: uniqueName("streamer"),
    logger: log,
  });
  server = new StreamerServer({
    settings: streamerSettings({ host: "127.0.0.1", port: 0 }),
    logger: log,
    source,
  });
  await server.listen();
  await server.startSource();
  await waitFor(() => source.ready(), 30_000, "ready");
});
afterAll(async () => {
  await server?.shutdown();
  await proxy?.down();
  await topic?.close();
});

it("waits for the registry instead of skipping, then delivers everything", { timeout: 90_000 }, async () => {
  const addr = server.httpServer.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const client = wsCollect(`ws://127.0.0.1:${port}/`);
  await client.opened;
  const decodeErrors = async () =>
    (await streamerMetrics.errors.get()).values.find((v) => v.labels.kind === "decode")?.value ?? 0;
  const errorsBefore = await decodeErrors();
  const entries = entrySeries(20, 7_000_000_000);
  await topic.produce(entries);
  await sleep(3000);
  expect(client.certs().length).toBe(0);
  expect(await decodeErrors()).toBe(errorsBefore);
  await proxy.up();
  await waitFor(() => client.certs().length >= 20, 30_000, "all 20 after the registry is back");
  expect(new Set(client.certs().map((m) => m.data.cert_index))).toEqual(new Set(entries.map((e) => e.index)));

  // a record that is not registry-framed is bad input: counted and skipped, the stream goes on
  const producer = topic.kafka.producer();
  await producer.connect();
  await producer.send({ topic: topic.topic, messages: [{ key: "k", value: "not avro" }] });
  await producer.disconnect();
  const more = entrySeries(5, 7_100_000_000);
  await topic.produce(more);
  await waitFor(() => client.certs().length >= 25, 20_000, "the records after the bad one");
  expect(await decodeErrors()).toBe(errorsBefore + 1);
  client.ws.close();
});
