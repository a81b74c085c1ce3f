// The log list is refreshed (ct_log.log_refresh_interval_secs): a log added to the list gets a watcher, a log
// removed from it loses its watcher. The added log serves the same certificates as the first one, but after the
// dedup window (ttl 2 s here) has passed: they are forwarded to certs again, as the window says.
import { join } from "node:path";
import { HEADER_LEAF_PARSED } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rfc6962StandInLog } from "../../../test/ct-standin/rfc6962-log.ts";
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

const SIZE = 60;

describe("log list refresh", () => {
  const standins = new StandInServer({
    rfc6962: [{ name: "ra", mode: "distinct", certSeed: 51, initialSize: SIZE }],
  });
  const dir = tempDir("ingester-refresh");
  let names: Names;
  let replica: Replica;
  let port = 0;

  beforeAll(async () => {
    names = uniqueNames("refresh");
    const base = await standins.start();
    port = await freePort();
    const path = writeConfig(dir, "r.yaml", names, null, {
      replicaId: "r",
      port,
      ttlSecs: 2,
      logListUrl: `${base}/log_list.json`,
      ctLog: { log_refresh_interval_secs: 10 },
    });
    replica = new Replica("r", path, join(dir, "r.log"));
  });

  afterAll(async () => {
    await replica.terminate();
    await standins.stop();
  });

  it("starts and stops watchers as the list changes; repeats past the TTL are forwarded again", async () => {
    const kafka = testKafka();
    const watched = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/api/logs`)).json()) as { logs: LogView[] }).logs
        .filter((l) => l.owned)
        .map((l) => l.name)
        .sort();
    replica.start();
    await waitFor(
      "ra ingested",
      async () => (await readTopic(kafka, names.entries)).length >= SIZE,
      60_000,
      1000,
    );
    const parsed = (await readTopic(kafka, names.entries)).filter(
      (r) => header(r, HEADER_LEAF_PARSED) === "1",
    );
    const distinct = new Set(parsed.map((r) => r.key?.toString("hex"))).size;
    await waitFor(
      "certs of ra",
      async () => (await readTopic(kafka, names.certs)).length >= distinct,
      30_000,
      1000,
    );

    // Added to the list: same certificates as ra, seen well after the 2 s window.
    standins.add(new Rfc6962StandInLog({ name: "rb", mode: "distinct", certSeed: 51, initialSize: SIZE }));
    await waitFor(
      "rb watched",
      async () => JSON.stringify(await watched()) === JSON.stringify(["Stand-in 'ra'", "Stand-in 'rb'"]),
      40_000,
      1000,
    );
    await waitFor(
      "rb ingested",
      async () => (await readTopic(kafka, names.entries)).length >= 2 * SIZE,
      60_000,
      1000,
    );
    await waitFor(
      "certs of rb",
      async () => (await readTopic(kafka, names.certs)).length >= 2 * distinct,
      30_000,
      1000,
    );

    // Removed from the list: its watcher stops.
    standins.logs.delete("ra");
    await waitFor(
      "ra dropped",
      async () => JSON.stringify(await watched()) === JSON.stringify(["Stand-in 'rb'"]),
      40_000,
      1000,
    );
    expect(await replica.terminate()).toBe(0);

    const certs = await readTopic(kafka, names.certs);
    expect(certs.length).toBe(2 * distinct);
    const keys = new Map<string, number>();
    for (const r of certs)
      keys.set(r.key?.toString("hex") ?? "", (keys.get(r.key?.toString("hex") ?? "") ?? 0) + 1);
    expect([...keys.values()].every((n) => n === 2)).toBe(true);
    expect((await readTopic(kafka, names.entries)).length).toBe(2 * SIZE);
  }, 240_000);
});
