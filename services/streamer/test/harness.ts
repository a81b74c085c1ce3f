/**
 * Test harness for the streamer: real CertificateEntry records (the 20 Argon2026h2 entries of the shared
 * testdata, parsed by @certstream/ct), a unique certs topic on the real broker with the schema registered,
 * a producer, and in-process or child-process streamers on that topic.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromRawEntry } from "@certstream/ct";
import { CertificateEntryCodec, createKafka, entryKey, valueSubject } from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import type { Kafka, Producer } from "kafkajs";
import { ServiceProcess, waitForHttp } from "../../../test/service-process.ts";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertsSource } from "../src/certs-source.ts";
import { StreamerServer } from "../src/server.ts";
import { type StreamerSettings, streamerSettings } from "../src/settings.ts";

const ARGON: LogSource = {
  id: "DleUvPOuqT4zGyyZB7P3kN+bwj1xMiXdIaklrGHFTiE=",
  name: "Google 'Argon2026h2'",
  url: "https://ct.googleapis.com/logs/us1/argon2026h2/",
  operator: "Google",
  kind: "rfc6962",
};

const ENTRIES_FILE = new URL(
  "../../../../shared/testdata/ct-entries/rfc6962/google-argon2026h2-get-entries-start1111014090-end1111014109.json",
  import.meta.url,
);

/** The 20 real Argon2026h2 entries, parsed. */
export function realEntries(): CertificateEntry[] {
  const body = JSON.parse(readFileSync(ENTRIES_FILE, "utf8")) as {
    entries: { leaf_input: string; extra_data: string }[];
  };
  return body.entries.map((e, i) =>
    fromRawEntry(
      ARGON,
      {
        index: 1_111_014_090 + i,
        leafInput: Buffer.from(e.leaf_input, "base64"),
        extraData: Buffer.from(e.extra_data, "base64"),
      },
      Date.now() * 1000,
    ),
  );
}

/** `n` records cycling through the real entries; each has its own index (its cert_index) = `base + i`. */
export function entrySeries(n: number, base = 2_000_000_000): CertificateEntry[] {
  const real = realEntries();
  return Array.from({ length: n }, (_, i) => ({ ...real[i % real.length], index: base + i }));
}

export const log = createLogger("streamer-test", process.env.LOG_LEVEL ?? "warn");

export class CertsTopic {
  readonly topic: string;
  readonly kafka: Kafka;
  private readonly codec: CertificateEntryCodec;
  private producer: Producer | null = null;

  private constructor(topic: string) {
    this.topic = topic;
    this.kafka = createKafka({ brokers: kafkaBrokers(), clientId: "streamer-test", logger: log });
    this.codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  }

  static async create(partitions = 3): Promise<CertsTopic> {
    const t = new CertsTopic(uniqueName("streamer-certs"));
    const admin = t.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: t.topic, numPartitions: partitions }],
    });
    await admin.disconnect();
    await t.codec.register(valueSubject(t.topic));
    t.producer = t.kafka.producer({ allowAutoTopicCreation: false });
    await t.producer.connect();
    return t;
  }

  /** Produces the entries, keyed by leaf SHA-256 as the ingester does; resolves when all are acknowledged. */
  async produce(entries: CertificateEntry[]): Promise<void> {
    if (!this.producer) throw new Error("topic not created");
    const CHUNK = 50; // a produce request stays under the broker's 1 MiB message.max.bytes
    for (let i = 0; i < entries.length; i += CHUNK) {
      const messages = entries.slice(i, i + CHUNK).map((e) => ({
        key: entryKey(e),
        value: this.codec.encodeSync(e, valueSubject(this.topic)),
      }));
      await this.producer.send({ topic: this.topic, messages, acks: -1 });
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}

export interface RunningStreamer {
  server: StreamerServer;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** An in-process streamer on `topic`, listening on a free port, waiting until its partitions are assigned. */
export async function startStreamer(
  topic: string,
  over: Parameters<typeof streamerSettings>[0] = {},
): Promise<RunningStreamer> {
  const settings: StreamerSettings = streamerSettings({ host: "127.0.0.1", port: 0, ...over });
  const source = new CertsSource({
    brokers: kafkaBrokers(),
    registryUrl: registryUrl(),
    topic,
    clientId: uniqueName("streamer"),
    logger: log,
  });
  const server = new StreamerServer({ settings, logger: log, source, topic });
  const port = await server.listen();
  await server.startSource();
  await waitFor(() => source.ready(), 30_000, "streamer partitions assigned");
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    stop: () => server.shutdown(),
  };
}

/** A streamer as its own process (`node services/streamer/src/main.ts --config <file>`), for kill tests. */
export async function spawnStreamer(
  topic: string,
  port: number,
  extraYaml = "",
): Promise<{ proc: ServiceProcess; url: string; configPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), "streamer-"));
  const configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    `host: 127.0.0.1\nport: ${port}\nlog_level: warn\nkafka:\n  brokers: [${kafkaBrokers().join(", ")}]\n  schema_registry_url: ${registryUrl()}\n  topics:\n    certs: ${topic}\n${extraYaml}`,
  );
  const proc = new ServiceProcess("streamer", ["--config", configPath], join(dir, "streamer.log")).start();
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/ready`, proc);
  return { proc, url, configPath };
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
