// Memory a CT log can take (issue 12): a static log answering every data tile with a gzip bomb (32 KB inflating
// to 32 MiB) for a while. Each bomb is refused while inflating (compression_bomb, counted), the log shows the
// stall, the replica's memory stays bounded and comes back to its idle footprint, and once the log serves real
// tiles again it resumes without a hole.
import { join } from "node:path";
import { HEADER_LOG_INDEX } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { collectGarbage, rssOf } from "../../../test/process-memory.ts";
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

const FIRST = 512;
const MORE = 1024;
const BOMB_MS = 30_000;
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a gzip bomb on data tiles", () => {
  const server = new StandInServer({
    static: [{ name: "bombed", mode: "distinct", certSeed: 81, initialSize: FIRST }],
    growOnStart: false,
  });
  const dir = tempDir("ingester-bomb");
  let names: Names;
  let replica: Replica;
  let base = "";
  let inspectPort = 0;

  beforeAll(async () => {
    names = uniqueNames("bomb");
    const standIns = await server.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    inspectPort = await freePort();
    const cfg = writeConfig(dir, "b.yaml", names, null, {
      replicaId: "b",
      port,
      batch: 256,
      logListUrl: `${standIns}/log_list.json`,
      // Four tiles in flight, each retried: as many bombs at once as the client will take.
      ctLog: {
        fetch_concurrency: 4,
        retry_max_attempts: 8,
        retry_initial_delay_ms: 100,
        retry_max_delay_ms: 500,
      },
    });
    replica = new Replica("b", cfg, join(dir, "b.log"));
  });

  afterAll(async () => {
    await replica.terminate();
    await server.stop();
  });

  const view = async (): Promise<LogView> =>
    ((await (await fetch(`${base}/api/logs`)).json()) as { logs: LogView[] }).logs[0];
  const bombsCounted = async (): Promise<number> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text
      .split("\n")
      .find(
        (l) => l.startsWith("certstream_ct_fetch_errors_total{") && l.includes('kind="compression_bomb"'),
      );
    return line ? Number(line.split(" ").pop()) : 0;
  };

  it("refuses each bomb while inflating, stays within bounds, returns to idle and resumes", async () => {
    replica.start({ NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` });
    await waitFor("first entries", async () => (await view())?.position === FIRST, 90_000, 500);
    const pid = replica.pid as number;
    // Both sizes compared are taken after a full collection, so that what is compared is what the replica
    // holds, not how long V8 waits to collect (CI saw over a minute).
    const collected = async () => {
      await collectGarbage(inspectPort);
      await sleep(500);
      return rssOf(pid);
    };
    await sleep(3000);
    const idle = await collected();

    const log = server.static("bombed");
    log.faults.set({ gzipBomb: 1, endpoints: ["data-tile"] });
    log.grow(MORE);
    let peak = idle;
    const until = Date.now() + BOMB_MS;
    while (Date.now() < until) {
      peak = Math.max(peak, rssOf(pid));
      await sleep(100);
    }
    const during = await view();
    const served = log.faults.counts.gzipBomb ?? 0;
    log.faults.set({});

    await waitFor("the rest", async () => (await view()).position === FIRST + MORE, 90_000, 500);
    expect(await bombsCounted()).toBe(served);
    // What was inflated is garbage once refused: after a collection the replica is back to its idle size.
    const after = await collected();
    console.log(
      `RSS idle ${(idle / MiB).toFixed(0)} MiB, peak under ${served} bombs ${(peak / MiB).toFixed(0)} MiB, ` +
        `${(after / MiB).toFixed(0)} MiB once the log recovered (each after a full collection)`,
    );

    expect(served).toBeGreaterThan(10);
    expect(during).toMatchObject({
      position: FIRST,
      stalled_at_index: FIRST,
      stall_reason: "compression_bomb",
    });
    // Bounded: at most four tiles' bound (8 MiB each) inflating at once, never a 32 MiB bomb each.
    expect(peak - idle).toBeLessThan(160 * MiB);
    expect(after - idle).toBeLessThan(32 * MiB);

    expect(await replica.terminate()).toBe(0);
    const indexes = (await readTopic(testKafka(), names.entries)).map((r) =>
      Number(header(r, HEADER_LOG_INDEX)),
    );
    expect(indexes.sort((a, b) => a - b)).toEqual(Array.from({ length: FIRST + MORE }, (_, i) => i));
  }, 240_000);
});
