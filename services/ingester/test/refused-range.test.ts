// A range the log refuses for good is never skipped: the log stops just before it, says why in /api/logs
// (last_error) and the health turns degraded; once the log serves the range again, ingestion goes on with no hole.
import { join } from "node:path";
import { HEADER_LOG_INDEX } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { freePort } from "../../../test/service-process.ts";
import type { LogView } from "../src/api.ts";
import {
  header,
  type Names,
  Replica,
  readTopic,
  tempDir,
  testKafka,
  uniqueNames,
  waitFor,
  writeConfig,
} from "./harness.ts";

const SIZE = 300;

describe("a refused range", () => {
  const server = new StandInServer({ growOnStart: false });
  const dir = tempDir("ingester-refused");
  let names: Names;
  let replica: Replica;
  let port = 0;

  beforeAll(async () => {
    names = uniqueNames("refused");
    server.addRfc6962({
      name: "f",
      mode: "distinct",
      certSeed: 61,
      initialSize: SIZE,
      pageSize: 50,
      faults: { refuseRange: { start: 120, end: 130 } },
    });
    await server.start();
    port = await freePort();
    const cfg = writeConfig(dir, "f.yaml", names, server, {
      replicaId: "f",
      port,
      batch: 50,
      // Give a refused request up quickly (the client then reports the range as a gap).
      ctLog: { retry_max_attempts: 1 },
    });
    replica = new Replica("f", cfg, join(dir, "f.log"));
  });

  afterAll(async () => {
    await replica.terminate();
    await server.stop();
  });

  it("stalls before it with the reason, then resumes without a hole", async () => {
    const kafka = testKafka();
    replica.start();
    const base = `http://127.0.0.1:${port}`;
    const view = async () =>
      ((await (await fetch(`${base}/api/logs`)).json()) as { logs: LogView[] }).logs[0];
    const stalled = await waitFor(
      "stalled with an error",
      async () => {
        const v = await view();
        return v.last_error && v.position !== null && v.position >= 100 ? v : null;
      },
      90_000,
      1000,
    );
    expect(stalled.position).toBeLessThanOrEqual(120);
    expect(stalled.last_error).toMatch(/refused|120/);
    await waitFor(
      "health degraded",
      async () =>
        ((await (await fetch(`${base}/health/ready`)).json()) as { health: string }).health === "degraded",
      10_000,
      250,
    );

    server.logs.get("f")?.faults.set({});
    await waitFor("resumed to the end", async () => (await view()).position === SIZE, 90_000, 1000);
    expect(await replica.terminate()).toBe(0);
    const indexes = (await readTopic(kafka, names.entries)).map((r) => Number(header(r, HEADER_LOG_INDEX)));
    expect(indexes.length).toBe(SIZE);
    expect(new Set(indexes).size).toBe(SIZE);
    expect(Math.min(...indexes)).toBe(0);
    expect(Math.max(...indexes)).toBe(SIZE - 1);
  }, 240_000);
});
