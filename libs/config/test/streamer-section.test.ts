import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.ts";

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  const path = join(dir, "config.yaml");
  writeFileSync(path, text);
  return loadConfig({ path, env, argv: [] });
}

describe("streamer slow-client keys", () => {
  it("defaults: 10000 drops in 60 s, a 5 s close grace", () => {
    const { streamer } = loadConfig({ argv: [], env: {} }).config;
    expect(streamer.slow_client_max_dropped).toBe(10_000);
    expect(streamer.slow_client_window_secs).toBe(60);
    expect(streamer.close_grace_ms).toBe(5000);
  });

  it("reads them from the file and from CERTSTREAM_STREAMER_*", () => {
    const { streamer } = load("streamer:\n  slow_client_max_dropped: 0\n  slow_client_window_secs: 10\n", {
      CERTSTREAM_STREAMER_CLOSE_GRACE_MS: "250",
    }).config;
    expect(streamer).toMatchObject({
      slow_client_max_dropped: 0,
      slow_client_window_secs: 10,
      close_grace_ms: 250,
    });
  });

  it.each([
    ["streamer:\n  slow_client_max_dropped: -1\n", "streamer.slow_client_max_dropped", ">= 0"],
    ["streamer:\n  slow_client_max_dropped: lots\n", "streamer.slow_client_max_dropped", "integer"],
    ["streamer:\n  slow_client_window_secs: 0\n", "streamer.slow_client_window_secs", ">= 1"],
    ["streamer:\n  slow_client_window_secs: 7200\n", "streamer.slow_client_window_secs", "<= 3600"],
    ["streamer:\n  close_grace_ms: 1.5\n", "streamer.close_grace_ms", "integer"],
    ["streamer:\n  close_grace_ms: 120000\n", "streamer.close_grace_ms", "<= 60000"],
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

  it("the old slow_client_grace_ms is reported as unknown, not silently used", () => {
    const { warnings } = load("streamer:\n  slow_client_grace_ms: 2000\n");
    expect(warnings).toEqual(['unknown key "streamer.slow_client_grace_ms" (ignored)']);
  });
});
