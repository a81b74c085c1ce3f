import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.ts";

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  const p = join(dir, "config.yaml");
  writeFileSync(p, text);
  return p;
}

const load = (text: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ path: file(text), env, argv: [] });

describe("loadConfig", () => {
  it("fills defaults when there is no file", () => {
    const { config, path } = loadConfig({ argv: [], env: {} });
    expect(path).toBeNull();
    expect(config.port).toBe(8080);
    expect(config.kafka.topics.entries).toBe("certstream.entries.v1");
    expect(config.dedup.ttl_secs).toBe(3600);
    expect(config.custom_logs).toEqual([]);
  });

  it("reads a certstream-server-rust style file and keeps unknown keys as warnings", () => {
    const { config, warnings } = load(`
host: 127.0.0.1
port: 4000
ct_log:
  batch_size: 64
  excluded_operators: [Sectigo]
custom_logs:
  - name: Test log
    url: http://127.0.0.1:16900/
    start_index: 5
rust_only_feature:
  x: 1
`);
    expect(config.host).toBe("127.0.0.1");
    expect(config.ct_log.batch_size).toBe(64);
    expect(config.ct_log.excluded_operators).toEqual(["Sectigo"]);
    expect(config.custom_logs[0]).toMatchObject({ name: "Test log", start_index: 5, log_id: null });
    expect(warnings).toEqual(['unknown key "rust_only_feature" (ignored)']);
  });

  it("lets CERTSTREAM_<SECTION>_<FIELD> override the file, sections with underscores included", () => {
    const { config } = load("ct_log:\n  batch_size: 64\n", {
      CERTSTREAM_CT_LOG_BATCH_SIZE: "128",
      CERTSTREAM_CONNECTION_LIMIT_PER_IP_LIMIT: "7",
      CERTSTREAM_KAFKA_BROKERS: "a:1,b:2",
      CERTSTREAM_KAFKA_TOPICS_CERTS: "my.certs",
      CERTSTREAM_DELTA_SINK_ENABLED: "false",
    });
    expect(config.ct_log.batch_size).toBe(128);
    expect(config.connection_limit.per_ip_limit).toBe(7);
    expect(config.kafka.brokers).toEqual(["a:1", "b:2"]);
    expect(config.kafka.topics.certs).toBe("my.certs");
    expect(config.delta_sink.enabled).toBe(false);
  });

  it.each([
    ["ct_log:\n  batch_size: -1\n", "ct_log.batch_size", ">= 1"],
    ["ct_log:\n  batch_size: ten\n", "ct_log.batch_size", "integer"],
    ["port: 70000\n", "port", "<= 65535"],
    ["custom_logs:\n  - name: x\n", "custom_logs[0].url", "required"],
    ["custom_logs:\n  - name: x\n    url: not a url\n", "custom_logs[0].url", "URL"],
    ["auth:\n  enabled: true\n", "auth.tokens", "at least one"],
    ["log_level: loud\n", "log_level", "one of"],
    ["streams: [1]\n", "streams", "mapping"],
  ])("refuses %j naming %s", (text, key, problem) => {
    let err: unknown;
    try {
      load(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
    expect((err as ConfigError).message).toContain(problem);
  });

  it("names the key and the env var when an override is malformed", () => {
    expect(() => load("", { CERTSTREAM_PORT: "eighty" })).toThrow(
      'config key "port": must be a number, got "eighty" (set by the environment variable CERTSTREAM_PORT)',
    );
    expect(() => load("", { CERTSTREAM_CT_LOG_BATCH_SIZE: "x" })).toThrow(
      /config key "ct_log.batch_size": .*CERTSTREAM_CT_LOG_BATCH_SIZE/,
    );
  });
});
