// Kill -9 / restart with two replicas (log watchers + dedup stage in each), against the real broker and
// registry and stand-in RFC 6962 logs over HTTP. Afterwards both topics are read back read_committed: every
// (log, index) must be in `entries` exactly once, every parsed certificate in `certs` exactly once.
import { join } from "node:path";
import { HEADER_LEAF_PARSED, StateCodec } from "@certstream/kafka";
import type { IngesterState } from "@certstream/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryUrl } from "../../../test/stack.ts";
import {
  checkDedupStream,
  duplicatedCerts,
  entryAudit,
  growingStandIns,
  header,
  type Names,
  Replica,
  readTopic,
  sleep,
  standInLogs,
  tempDir,
  testKafka,
  uniqueNames,
  waitAllIngested,
  waitDedupDrained,
  writeConfig,
} from "./harness.ts";

const MAX = 700;

describe("ingester exactly-once under kill -9", () => {
  // a and b serve the same certificates at the same indexes (shared certificates); c its own.
  const server = growingStandIns(MAX, [
    { name: "a", certSeed: 1, growRate: 60 },
    { name: "b", certSeed: 1, growRate: 45 },
    { name: "c", certSeed: 2, growRate: 50 },
  ]);
  const dir = tempDir("ingester-eos");
  let names: Names;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    names = uniqueNames("eos");
    await server.start();
    for (const r of ["r1", "r2"]) {
      const cfg = writeConfig(dir, `${r}.yaml`, names, server, { replicaId: r, batch: 40 });
      replicas.push(new Replica(r, cfg, join(dir, `${r}.log`)));
    }
  });

  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.terminate()));
    await server.stop();
  });

  it("has every (log, index) once in entries and every certificate once in certs after crashes", async () => {
    const kafka = testKafka();
    const [r1, r2] = replicas;
    r1.start();
    await sleep(1500);
    r2.start();
    for (const l of server.logs.values()) l.start();
    // Crash each replica twice, at moments unrelated to its transactions.
    for (const victim of [r1, r2, r1, r2]) {
      await sleep(2500 + Math.floor(Math.random() * 2000));
      await victim.kill9();
      await sleep(800);
      victim.start();
    }
    // And one graceful stop (SIGTERM: the transactions in flight finish, exit 0) and restart.
    await sleep(2000);
    expect(await r1.terminate()).toBe(0);
    r1.start();
    await waitAllIngested(kafka, server, names, MAX);
    // Let the dedup stage drain, then stop gracefully (exit 0 = transactions finished).
    await waitDedupDrained(kafka, names);
    const codes = await Promise.all(replicas.map((r) => r.terminate()));
    expect(codes).toEqual([0, 0]);

    const entries = await readTopic(kafka, names.entries);
    expect(entryAudit(entries, standInLogs(server), MAX)).toEqual({ duplicated: [], missing: [] });
    expect(entries.length).toBe(MAX * 3);
    const parsedKeys = new Set<string>();
    for (const r of entries)
      if (header(r, HEADER_LEAF_PARSED) === "1" && r.key) parsedKeys.add(r.key.toString("hex"));

    const certs = await readTopic(kafka, names.certs);
    expect(duplicatedCerts(certs)).toEqual([]);
    expect(new Set(certs.map((r) => r.key?.toString("hex") ?? ""))).toEqual(parsedKeys);
    checkDedupStream(entries, certs, HEADER_LEAF_PARSED);

    // The compact Merkle range rode along in the same transactions (issue 18): across every crash it resumed
    // with exactly the entries committed, never re-seeded, and the last head (700) verified every entry.
    const codec = new StateCodec(registryUrl(), names.state);
    const latest = new Map<string, IngesterState>();
    for (const r of await readTopic(kafka, names.state)) {
      if (!r.value || r.value.length === 0) continue;
      const st = await codec.decode(r.value);
      if (st) latest.set(st.log_id, st);
    }
    expect(latest.size).toBe(3);
    for (const st of latest.values()) {
      expect(st.next_index).toBe(MAX);
      expect(st.verification).toMatchObject({
        range_size: MAX,
        seeded_at: 0,
        verified_size: MAX,
        mismatch: null,
        halted: false,
      });
    }
  }, 300_000);
});
