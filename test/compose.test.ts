import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { loadConfig } from "@certstream/config";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "./stack.ts";

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  profiles?: string[];
  ports?: string[];
  healthcheck?: unknown;
}
const compose = parse(readFileSync(`${repoRoot}/docker-compose.yml`, "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const appServices = Object.entries(compose.services).filter(([, s]) => s.environment?.SERVICE);

describe("docker-compose.yml, checked statically (test/compose-e2e.test.ts runs it)", () => {
  it("is valid for docker-compose (v1.29, `config -q`)", () => {
    execFileSync(
      "docker-compose",
      ["-f", `${repoRoot}/docker-compose.yml`, "--profile", "jobs", "config", "-q"],
      {
        stdio: "pipe",
      },
    );
  });

  it("runs the five services from one image, each with a health check", () => {
    expect(appServices.map(([name]) => name).sort()).toEqual([
      "archive-search",
      "backfill",
      "delta-sink",
      "ingester",
      "streamer",
    ]);
    for (const [name, s] of appServices) {
      expect(s.environment?.SERVICE).toBe(name);
      expect(s.image).toBe("certstream-kafka:local");
      expect(s.healthcheck, name).toBeTruthy();
      expect(existsSync(`${repoRoot}/services/${name}/src/main.ts`), `services/${name}/src/main.ts`).toBe(
        true,
      );
    }
    expect(compose.services.backfill.profiles).toEqual(["jobs"]);
    // Scalable: no fixed host port (each replica gets a free one on 127.0.0.1; podman refuses port ranges).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation, not a JS template.
    expect(compose.services.streamer.ports).toEqual(["127.0.0.1:${HOST_PORT_STREAMER:-}:8080"]);
    // Grafana's image exists only on Docker Hub: behind a profile, so runs without an image registry work.
    expect(compose.services.grafana.profiles).toEqual(["grafana"]);
    for (const infra of ["kafka", "registry", "prometheus", "grafana"]) {
      expect(compose.services[infra]?.healthcheck, infra).toBeTruthy();
    }
  });

  it("sets only config keys that exist, and health checks probe the configured ports", () => {
    for (const [name, s] of appServices) {
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {}).filter(([k]) => k.startsWith("CERTSTREAM_")),
      );
      const { config, warnings } = loadConfig({ argv: [], env });
      expect(warnings, name).toEqual([]);
      expect(config.kafka.brokers).toEqual(["kafka:9092"]);
      expect(config.kafka.schema_registry_url).toBe("http://registry:8080/apis/ccompat/v7");
      const port = {
        streamer: config.port,
        ingester: config.ingester.port,
        "delta-sink": config.delta_sink.port,
        "archive-search": config.archive_search.port,
      }[name as "streamer"];
      if (port !== undefined) expect(Number(s.environment?.HEALTH_PORT), name).toBe(port);
    }
  });

  it("uses the same broker settings as the local stack (infra/kafka/server.properties)", () => {
    const props = readFileSync(`${repoRoot}/infra/kafka/server.properties`, "utf8");
    const env = compose.services.kafka.environment ?? {};
    for (const key of [
      "transaction.state.log.replication.factor",
      "transaction.state.log.min.isr",
      "share.coordinator.state.topic.replication.factor",
      "group.initial.rebalance.delay.ms",
      "auto.create.topics.enable",
    ]) {
      const local = new RegExp(`^${key.replaceAll(".", "\\.")}=(.*)$`, "m").exec(props)?.[1];
      expect(String(env[`KAFKA_${key.toUpperCase().replaceAll(".", "_")}`]), key).toBe(local);
    }
  });
});
