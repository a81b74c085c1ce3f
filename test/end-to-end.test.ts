/**
 * The walking skeleton, end to end with real parts: a stand-in RFC 6962 log serving real CT entries (and
 * growing) → the ingester process → Kafka (entries, then certs through the dedup stage; Avro through the real
 * registry) → the streamer process → a WebSocket client on /full-stream that receives certificate_update messages.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { StandInServer } from "./ct-standin/server.ts";
import { freePort, ServiceProcess, waitForHttp } from "./service-process.ts";
import { kafkaBrokers, registryUrl, testTopics, uniqueName } from "./stack.ts";

interface CertificateUpdate {
  message_type: string;
  data: {
    update_type: string;
    cert_index: number;
    source: { url: string; name: string };
    leaf_cert: { all_domains: string[]; as_der: string; sha256: string; subject: { aggregated: string } };
    chain: { as_der: string }[];
  };
}

describe("end to end: CT log → ingester → Kafka → streamer → WebSocket", () => {
  const dir = mkdtempSync(join(tmpdir(), "e2e-"));
  const standIn = new StandInServer({
    rfc6962: [
      { name: "e2e", growRate: 20, mode: "distinct", pageSize: 32, certSeed: 7, operator: "Stand-in" },
    ],
  });
  let ingester: ServiceProcess;
  let streamer: ServiceProcess;
  let streamerPort = 0;

  beforeAll(async () => {
    const base = uniqueName("e2e");
    await standIn.start();
    const log = standIn.logs.get("e2e")!;
    const [ingesterPort, port] = [await freePort(), await freePort()];
    streamerPort = port;
    const config = {
      host: "127.0.0.1",
      port: streamerPort,
      log_level: "info",
      kafka: {
        brokers: kafkaBrokers(),
        schema_registry_url: registryUrl(),
        partitions: 2,
        topics: testTopics(base),
      },
      ct_log: { poll_interval_ms: 200, log_list_enabled: false },
      custom_logs: [
        {
          name: "e2e",
          url: standIn.url("e2e"),
          operator: "Stand-in",
          key: log.key.publicKeyBase64,
          start_index: 0,
        },
      ],
      ingester: {
        port: ingesterPort,
        group_id: `${base}-ingester`,
        dedup_group_id: `${base}-dedup`,
        coordination_topic: `${base}.logs`,
        transactional_id_prefix: `${base}-tx`,
        dedup_transactional_id_prefix: `${base}-dtx`,
      },
    };
    const configPath = join(dir, "config.yaml");
    writeFileSync(configPath, JSON.stringify(config));
    ingester = new ServiceProcess("ingester", ["--config", configPath], join(dir, "ingester.log")).start();
    streamer = new ServiceProcess("streamer", ["--config", configPath], join(dir, "streamer.log")).start();
    await waitForHttp(`http://127.0.0.1:${ingesterPort}/health`, ingester);
    await waitForHttp(`http://127.0.0.1:${streamerPort}/health`, streamer);
  });

  afterAll(async () => {
    await Promise.all([streamer?.stop(), ingester?.stop()]);
    await standIn.stop();
  });

  it("a /full-stream client receives full certificate_update messages parsed from the real entries", async () => {
    const received: CertificateUpdate[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${streamerPort}/full-stream`);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no certificates within 30 s\n${ingester.tail()}\n${streamer.tail()}`)),
          30_000,
        );
        ws.on("message", (data) => {
          const msg = JSON.parse(String(data)) as CertificateUpdate;
          if (msg.message_type !== "certificate_update") return;
          received.push(msg);
          if (received.length >= 5) {
            clearTimeout(timer);
            resolve();
          }
        });
        ws.on("error", reject);
      });
    } finally {
      ws.close();
    }
    for (const msg of received) {
      expect(["X509LogEntry", "PrecertLogEntry"]).toContain(msg.data.update_type);
      expect(msg.data.source.url).toBe(standIn.url("e2e"));
      expect(msg.data.leaf_cert.all_domains.length).toBeGreaterThan(0);
      expect(Buffer.from(msg.data.leaf_cert.as_der, "base64").length).toBeGreaterThan(100);
      expect(msg.data.leaf_cert.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(msg.data.chain.length).toBeGreaterThan(0);
    }
    // Each certificate once: the dedup stage forwards only first sightings.
    const hashes = received.map((m) => m.data.leaf_cert.sha256);
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});
