import { describe, expect, it } from "vitest";
import { loadConfig, redactConfig } from "../src/index.ts";

describe("delta_sink table location keys", () => {
  it("takes table_uri and storage_options from env (JSON), and --validate-config hides the secrets", () => {
    const { config, warnings } = loadConfig({
      argv: [],
      env: {
        CERTSTREAM_DELTA_SINK_TABLE_URI: "s3://archive/certstream",
        CERTSTREAM_DELTA_SINK_STORAGE_OPTIONS: JSON.stringify({
          AWS_REGION: "eu-west-1",
          AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
          AWS_SECRET_ACCESS_KEY: "very-secret",
          AWS_SESSION_TOKEN: "token",
        }),
      },
    });
    expect(warnings).toEqual([]);
    expect(config.delta_sink.table_uri).toBe("s3://archive/certstream");
    expect(config.delta_sink.table_path).toBe("./data/certstream");
    const shown = redactConfig(config).delta_sink.storage_options;
    expect(shown).toEqual({
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "[redacted]",
      AWS_SESSION_TOKEN: "[redacted]",
    });
    expect(config.delta_sink.storage_options.AWS_SECRET_ACCESS_KEY).toBe("very-secret");
  });

  it("defaults to the local table_path with no storage options", () => {
    const { config } = loadConfig({ argv: [], env: {} });
    expect(config.delta_sink.table_uri).toBe("");
    expect(config.delta_sink.storage_options).toEqual({});
  });
});
