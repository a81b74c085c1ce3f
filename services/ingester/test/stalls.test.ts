// Every stall of a log is seen, and none is for good (issue 12). Three logs stall from the start, each its own way:
// a data tile serving a wrong leaf at two indexes (a refusal the client reports at once), get-entries answering
// garbage (refusals the client retries for a while), data tiles cut short (network failures it retries without
// limit). While stalled, each shows in /api/logs (last_error, stalled_since, stalled_at_index, stall_reason),
// in certstream_ingester_stalled_seconds (the stall alert's metric), in the health (degraded) and in one log line
// naming the log, the index and the reason. Once the log answers right again, it resumes with no hole, and the
// wrong tile is fetched again (not served from a cache).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HEADER_LOG_ID, HEADER_LOG_INDEX } from "@certstream/kafka";
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

const SIZE = { wrong: 600, garbage: 200, cut: 600 } as const;
type Name = keyof typeof SIZE;
const STALLED_MSG = "CT log stalled: reading it fails; retrying until it answers";

describe("stalls", () => {
  const server = new StandInServer({
    static: [
      {
        name: "wrong",
        mode: "distinct",
        certSeed: 71,
        initialSize: SIZE.wrong,
        faults: { swapLeaves: [300, 301] },
      },
      {
        name: "cut",
        mode: "distinct",
        certSeed: 73,
        initialSize: SIZE.cut,
        faults: { truncated: 1, endpoints: ["data-tile"] },
      },
    ],
    rfc6962: [
      {
        name: "garbage",
        mode: "distinct",
        certSeed: 72,
        initialSize: SIZE.garbage,
        pageSize: 50,
        faults: { garbage: 1, endpoints: ["get-entries"] },
      },
    ],
    growOnStart: false,
  });
  const dir = tempDir("ingester-stalls");
  const logPath = join(dir, "s.log");
  let names: Names;
  let replica: Replica;
  let base = "";

  beforeAll(async () => {
    names = uniqueNames("stalls");
    const standIns = await server.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const cfg = writeConfig(dir, "s.yaml", names, null, {
      replicaId: "s",
      port,
      batch: 64,
      logListUrl: `${standIns}/log_list.json`,
      // Refusals are retried long enough (about 4 s per request) that only the stall check shows them early.
      ctLog: { retry_max_attempts: 8, retry_initial_delay_ms: 100, retry_max_delay_ms: 1000 },
    });
    replica = new Replica("s", cfg, logPath);
  });

  afterAll(async () => {
    await replica.terminate();
    await server.stop();
  });

  const views = async (): Promise<Map<Name, LogView>> => {
    const { logs } = (await (await fetch(`${base}/api/logs`)).json()) as { logs: LogView[] };
    const out = new Map<Name, LogView>();
    for (const l of logs) out.set(/'(.+)'/.exec(l.name)?.[1] as Name, l);
    return out;
  };
  const stalledSeconds = async (id: string): Promise<number | null> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`certstream_ingester_stalled_seconds{log="${id}"}`));
    return line ? Number(line.split(" ").pop()) : null;
  };
  const logLines = (): Record<string, unknown>[] =>
    readFileSync(logPath, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("shows each stall where an operator looks, then resumes without a hole", async () => {
    replica.start();
    const expected: Record<Name, { index: number; reason: string }> = {
      wrong: { index: 300, reason: "leaf_index_mismatch" },
      garbage: { index: 0, reason: "bad_response" },
      cut: { index: 0, reason: "network" },
    };
    const stalled = await waitFor(
      "all three logs stalled",
      async () => {
        const v = await views();
        return (Object.keys(SIZE) as Name[]).every((n) => v.get(n)?.stalled_since) ? v : null;
      },
      90_000,
      1000,
    );
    for (const n of Object.keys(SIZE) as Name[]) {
      const v = stalled.get(n) as LogView;
      expect(v, n).toMatchObject({
        position: expected[n].index,
        stalled_at_index: expected[n].index,
        stall_reason: expected[n].reason,
      });
      expect(v.last_error, n).toBeTruthy();
      expect(Date.parse(v.stalled_since as string), n).toBeLessThanOrEqual(Date.now());
      expect(await stalledSeconds(v.id), n).toBeGreaterThanOrEqual(0);
    }
    const health = (await (await fetch(`${base}/health/ready`)).json()) as { health: string };
    expect(health.health).toBe("degraded");

    // The wrong tile is asked for again at every try, not served from the client's tile cache.
    const wrong = server.static("wrong");
    const tileRequests = wrong.requests["data-tile"] ?? 0;
    await new Promise((r) => setTimeout(r, 3000));
    expect((wrong.requests["data-tile"] ?? 0) - tileRequests).toBeGreaterThanOrEqual(3);

    for (const l of server.logs.values()) l.faults.set({});
    const done = await waitFor(
      "every log at its end, no stall left",
      async () => {
        const v = await views();
        return (Object.keys(SIZE) as Name[]).every(
          (n) => v.get(n)?.position === SIZE[n] && v.get(n)?.stalled_since === null,
        )
          ? v
          : null;
      },
      90_000,
      1000,
    );
    for (const v of done.values()) expect(await stalledSeconds(v.id)).toBeNull();

    // One warning per stall, naming the log, the index and the reason.
    const lines = logLines().filter((l) => l.msg === STALLED_MSG);
    for (const n of Object.keys(SIZE) as Name[]) {
      const id = done.get(n)?.id;
      const mine = lines.filter((l) => l.log === id);
      expect(mine.length, n).toBe(1);
      expect(mine[0], n).toMatchObject({ leaf_index: expected[n].index, reason: expected[n].reason });
    }

    expect(await replica.terminate()).toBe(0);
    const kafka = testKafka();
    const perLog = new Map<string, number[]>();
    for (const r of await readTopic(kafka, names.entries)) {
      const id = header(r, HEADER_LOG_ID) ?? "";
      perLog.set(id, [...(perLog.get(id) ?? []), Number(header(r, HEADER_LOG_INDEX))]);
    }
    for (const n of Object.keys(SIZE) as Name[]) {
      const indexes = (perLog.get(done.get(n)?.id ?? "") ?? []).sort((a, b) => a - b);
      expect(indexes, n).toEqual(Array.from({ length: SIZE[n] }, (_, i) => i));
    }
  }, 300_000);
});
