// Static-ct polling follows the log (issue 13): while a fetch waits on a partial tile, the checkpoint is read
// again every poll interval (and never faster), so a tile that fills is fetched at once instead of when the
// partial-tile wait runs out; with the default wait (0) a partial tile is fetched as soon as a checkpoint
// shows it, so a log that is not growing is ingested to its last entry.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { freePort } from "../../../test/service-process.ts";
import type { LogView } from "../src/api.ts";
import { type Names, Replica, tempDir, uniqueNames, waitFor, writeConfig } from "./harness.ts";

const POLL_MS = 200;
const WAIT_SECS = 60;

async function runIngester(
  server: StandInServer,
  ctLog: Record<string, unknown>,
  prefix: string,
): Promise<{ replica: Replica; position: (log: string) => Promise<number | null> }> {
  const dir = tempDir(prefix);
  const names: Names = uniqueNames(prefix);
  const port = await freePort();
  const cfg = writeConfig(dir, "c.yaml", names, null, {
    replicaId: prefix,
    port,
    batch: 1000,
    pollMs: POLL_MS,
    logListUrl: `${server.baseUrl}/log_list.json`,
    ctLog,
  });
  const replica = new Replica(prefix, cfg, join(dir, "i.log")).start();
  const position = async (log: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/logs`).catch(() => null);
    if (!res?.ok) return null;
    const { logs } = (await res.json()) as { logs: LogView[] };
    return logs.find((l) => l.name.includes(`'${log}'`))?.position ?? null;
  };
  return { replica, position };
}

describe("static-ct polling", () => {
  const server = new StandInServer({
    static: [
      { name: "fills", mode: "distinct", certSeed: 81, initialSize: 300 },
      { name: "partial", mode: "distinct", certSeed: 82, initialSize: 300 },
    ],
    growOnStart: false,
  });
  const replicas: Replica[] = [];

  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.terminate()));
    await server.stop();
  });

  it("re-reads the checkpoint each poll while a partial tile waits, and fetches the tile once it is full", async () => {
    const { replica, position } = await runIngester(
      server,
      { partial_tile_wait_secs: WAIT_SECS },
      "static-poll-wait",
    );
    replicas.push(replica);
    // Tile 0 is full and ingested; tile 1 (44 entries) is partial and waits.
    await waitFor(
      "the full tile ingested",
      async () => ((await position("fills")) === 256 ? true : null),
      60_000,
    );
    const log = server.static("fills");
    const before = log.requests.checkpoint ?? 0;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const reads = (log.requests.checkpoint ?? 0) - before;
    const elapsed = Date.now() - t0;
    expect(reads, "checkpoint reads while waiting on the partial tile").toBeGreaterThanOrEqual(3);
    expect(reads, "never faster than the poll interval").toBeLessThanOrEqual(
      Math.ceil(elapsed / POLL_MS) + 1,
    );
    expect(await position("fills")).toBe(256);

    // The tile fills: the next checkpoint shows it full and it is fetched without waiting out the partial wait.
    log.grow(212);
    await waitFor(
      `tile 1 ingested well before the ${WAIT_SECS} s partial wait`,
      async () => ((await position("fills")) === 512 ? true : null),
      (WAIT_SECS / 2) * 1000,
    );
    await replica.terminate();
  });

  it("with the default wait, fetches a partial tile as soon as a checkpoint shows it", async () => {
    const { replica, position } = await runIngester(server, {}, "static-poll-now");
    replicas.push(replica);
    await waitFor(
      "every entry ingested",
      async () => ((await position("partial")) === 300 ? true : null),
      60_000,
    );
    const log = server.static("partial");
    log.grow(10);
    await waitFor(
      "the grown partial tile ingested",
      async () => ((await position("partial")) === 310 ? true : null),
      30_000,
    );
    await replica.terminate();
  });
});
