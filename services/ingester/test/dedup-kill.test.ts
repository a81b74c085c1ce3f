// Kill -9 / restart of the dedup stage: one replica runs the log watchers only, two replicas run the dedup stage
// only and are killed in turn while entries stream in. Afterwards `certs` must be exactly the first sighting of
// each certificate per partition (no duplicate, no loss, same bytes), as if nothing had crashed.
import { join } from "node:path";
import { HEADER_LEAF_PARSED } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkDedupStream,
  expectedCertKeys,
  growingStandIns,
  type Names,
  Replica,
  readTopic,
  sleep,
  tempDir,
  testKafka,
  uniqueNames,
  waitAllIngested,
  waitDedupDrained,
  writeConfig,
} from "./harness.ts";

const MAX = 800;

describe("dedup stage exactly-once under kill -9", () => {
  // Every stand-in serves the same 46 real certificates first; a and b then share the rest as well.
  const server = growingStandIns(MAX, [
    { name: "a", certSeed: 21, growRate: 70 },
    { name: "b", certSeed: 21, growRate: 55 },
    { name: "c", certSeed: 22, growRate: 60 },
  ]);
  const dir = tempDir("ingester-dedup-kill");
  let names: Names;
  let watcher: Replica;
  const dedupers: Replica[] = [];

  beforeAll(async () => {
    names = uniqueNames("dkill");
    await server.start();
    const w = writeConfig(dir, "w.yaml", names, server, { replicaId: "w", dedup: false, batch: 25 });
    watcher = new Replica("w", w, join(dir, "w.log"));
    for (const r of ["d1", "d2"]) {
      const cfg = writeConfig(dir, `${r}.yaml`, names, server, { replicaId: r, watchers: false });
      dedupers.push(new Replica(r, cfg, join(dir, `${r}.log`)));
    }
  });

  afterAll(async () => {
    await Promise.allSettled([watcher, ...dedupers].map((r) => r.terminate()));
    await server.stop();
  });

  it("forwards every certificate once, in first-sighting order, across crashes", async () => {
    const kafka = testKafka();
    watcher.start();
    await sleep(1500);
    for (const d of dedupers) d.start();
    for (const l of server.logs.values()) l.start();
    const [d1, d2] = dedupers;
    for (const victim of [d1, d2, d1, d2, d1]) {
      await sleep(2000 + Math.floor(Math.random() * 2000));
      await victim.kill9();
      await sleep(500);
      victim.start();
    }
    await waitAllIngested(kafka, server, names, MAX);
    // The dedup group drains: its committed offsets reach the end of entries.
    await waitDedupDrained(kafka, names);
    // The exit status with its signal: one CI run saw a dedup replica end by a signal, its log silent about it.
    const replicas = [watcher, ...dedupers];
    await Promise.all(replicas.map((r) => r.terminate()));
    expect(await Promise.all(replicas.map((r) => r.exitStatus))).toEqual(
      replicas.map(() => ({ code: 0, signal: null })),
    );
    const entries = await readTopic(kafka, names.entries);
    const certs = await readTopic(kafka, names.certs);
    expect(entries.length).toBe(MAX * 3);
    const n = checkDedupStream(entries, certs, HEADER_LEAF_PARSED);
    // And the set is what the stand-ins serve, computed independently of the ingester.
    const expected = expectedCertKeys(server, 0, MAX);
    expect(n).toBe(expected.size);
    expect(new Set(certs.map((r) => r.key?.toString("hex")))).toEqual(expected);
    console.log(`dedup-kill: ${entries.length} entries → ${n} certificates`);
  }, 300_000);
});
