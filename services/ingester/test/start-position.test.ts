// A log never seen before starts `ct_log.start_overlap_leaves` behind its head (not at 0); once it has a stored
// position, a restart resumes from it instead of choosing again.
import { join } from "node:path";
import { HEADER_LOG_INDEX } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
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

describe("start position of a new log", () => {
  const server = new StandInServer({ growOnStart: false });
  const dir = tempDir("ingester-start");
  let names: Names;
  let replica: Replica;

  beforeAll(async () => {
    names = uniqueNames("start");
    server.addRfc6962({ name: "s", mode: "distinct", certSeed: 31, initialSize: 1500, pageSize: 256 });
    await server.start();
    // start_overlap_leaves is 1000 in the test config; no start_index for this log.
    const cfg = writeConfig(dir, "s.yaml", names, server, { replicaId: "s", startIndex: null, batch: 200 });
    replica = new Replica("s", cfg, join(dir, "s.log"));
  });

  afterAll(async () => {
    await replica.terminate();
    await server.stop();
  });

  it("starts 1000 behind the head, then resumes from the stored position after kill -9", async () => {
    const kafka = testKafka();
    replica.start();
    const indexes = async () =>
      (await readTopic(kafka, names.entries)).map((r) => Number(header(r, HEADER_LOG_INDEX)));
    await waitFor("first 1000 entries", async () => (await indexes()).length >= 1000, 60_000, 1000);
    await replica.kill9();
    server.logs.get("s")?.grow(300);
    replica.start();
    await waitFor("grown entries", async () => (await indexes()).length >= 1300, 60_000, 1000);
    expect(await replica.terminate()).toBe(0);
    const got = (await indexes()).sort((a, b) => a - b);
    expect(got.length).toBe(1300);
    expect(got[0]).toBe(500);
    expect(got.at(-1)).toBe(1799);
    expect(new Set(got).size).toBe(1300);
  }, 180_000);
});
