// Logs discovered from a Chrome v3 log list (served by the shared stand-in server): one RFC 6962 log under
// `logs`, one static-ct-api log under `tiled_logs`. Both are ingested completely, once, through the libs/ct
// clients chosen by the list; /api/logs shows them with their kind.
import { join } from "node:path";
import { HEADER_LEAF_PARSED, HEADER_LOG_ID, HEADER_LOG_INDEX } from "@certstream/kafka";
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

const RFC_SIZE = 200;
const STATIC_SIZE = 600;

describe("logs from the log list (RFC 6962 and static-ct-api)", () => {
  const standins = new StandInServer({
    rfc6962: [{ name: "listed-rfc", mode: "distinct", certSeed: 41, initialSize: RFC_SIZE, pageSize: 100 }],
    static: [{ name: "listed-static", mode: "distinct", certSeed: 42, initialSize: STATIC_SIZE }],
  });
  const dir = tempDir("ingester-loglist");
  let names: Names;
  let replica: Replica;
  let port = 0;

  beforeAll(async () => {
    names = uniqueNames("list");
    const base = await standins.start();
    port = await freePort();
    const path = writeConfig(dir, "l.yaml", names, null, {
      replicaId: "l",
      port,
      logListUrl: `${base}/log_list.json`,
    });
    replica = new Replica("l", path, join(dir, "l.log"));
  });

  afterAll(async () => {
    await replica.terminate();
    await standins.stop();
  });

  it("ingests every index of both logs once", async () => {
    const kafka = testKafka();
    replica.start();
    const total = RFC_SIZE + STATIC_SIZE;
    await waitFor(
      "all entries",
      async () => (await readTopic(kafka, names.entries)).length >= total,
      120_000,
      1500,
    );
    const api = (await (await fetch(`http://127.0.0.1:${port}/api/logs`)).json()) as { logs: LogView[] };
    expect(api.logs.map((l) => [l.name, l.kind, l.position]).sort()).toEqual(
      [
        ["Stand-in 'listed-rfc'", "rfc6962", RFC_SIZE],
        ["Stand-in 'listed-static'", "static", STATIC_SIZE],
      ].sort(),
    );
    expect(await replica.terminate()).toBe(0);

    const entries = await readTopic(kafka, names.entries);
    expect(entries.length).toBe(total);
    const perLog = new Map<string, Set<number>>();
    let parsed = 0;
    for (const r of entries) {
      const id = header(r, HEADER_LOG_ID) ?? "";
      const set = perLog.get(id) ?? new Set<number>();
      set.add(Number(header(r, HEADER_LOG_INDEX)));
      perLog.set(id, set);
      if (header(r, HEADER_LEAF_PARSED) === "1") parsed++;
    }
    const sizes = new Map([
      [standins.rfc("listed-rfc").key.logIdBase64, RFC_SIZE],
      [standins.static("listed-static").key.logIdBase64, STATIC_SIZE],
    ]);
    for (const [id, size] of sizes) {
      const got = perLog.get(id);
      expect(got?.size, id).toBe(size);
      for (let i = 0; i < size; i++) expect(got?.has(i), `${id}#${i}`).toBe(true);
    }
    expect(parsed).toBe(total);
  }, 240_000);
});
