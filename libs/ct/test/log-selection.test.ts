import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@certstream/config";
import { describe, expect, it } from "vitest";
import { logSelection, parseLogList } from "../src/index.ts";

function configWith(yaml: string) {
  const path = join(mkdtempSync(join(tmpdir(), "log-selection-")), "config.yaml");
  writeFileSync(path, yaml);
  return loadConfig({ path, env: {} }).config;
}

describe("logSelection", () => {
  it("passes a static log's configured origin on to the log it describes", () => {
    const config = configWith(`
static_logs:
  - name: explicit
    url: https://tiles.example.org/2026h1/
    submission_url: https://submit.example.org/2026h1/
    origin: log.example.org/2026h1
  - name: derived
    url: https://tiles.example.org/2026h2/
    submission_url: https://submit.example.org/2026h2/
`);
    const { logs } = parseLogList({ version: "1", operators: [] }, logSelection(config));
    const byName = new Map(logs.map((l) => [l.name, l]));
    expect(byName.get("explicit")?.origin).toBe("log.example.org/2026h1");
    expect(byName.get("derived")?.origin).toBe("submit.example.org/2026h2");
  });
});
