// Tree verification (issue 18): an ingester hashes every entry into its log's compact range, stored with the
// position, and compares the root with each signed tree head its position reaches. Stand-in logs serving
// correct trees (read from index 0, or started mid-log and seeded from one audit path or the hash tiles) end
// verified; injected faults (a changed entry, a reordered entry, a forked tree head) are caught, in observe mode
// reported and published, in enforce mode halting the log until an operator resets it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CertificateEntry } from "@certstream/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leafHash } from "../../../libs/ct/src/merkle-hash.ts";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { freePort } from "../../../test/service-process.ts";
import type { LogView } from "../src/api.ts";
import { logIdOf } from "../src/log-catalog.ts";
import {
  type Names,
  Replica,
  readTopic,
  tempDir,
  testCodec,
  testKafka,
  uniqueNames,
  waitFor,
  writeConfig,
} from "./harness.ts";

const SIZE = 300;

interface Run {
  names: Names;
  port: number;
  replica: Replica;
  logPath: string;
}

/** An ingester over the stand-ins given, with per-log start indexes, in `mode`. */
async function startIngester(
  server: StandInServer,
  logs: { name: string; start: number }[],
  mode: string,
  prefix: string,
): Promise<Run> {
  const dir = tempDir(prefix);
  const names = uniqueNames(prefix);
  const port = await freePort();
  const path = writeConfig(dir, "c.yaml", names, null, {
    replicaId: prefix,
    port,
    batch: 64,
    pollMs: 200,
    dedup: false,
    ctLog: { verify: mode },
  });
  const cfg = JSON.parse(readFileSync(path, "utf8"));
  const entry = (name: string, start: number) => ({
    name,
    url: server.url(name),
    operator: "Stand-in Operator",
    key: server.logs.get(name)?.key.publicKeyBase64,
    start_index: start,
  });
  cfg.custom_logs = logs
    .filter((l) => server.logs.get(l.name)?.kind === "rfc6962")
    .map((l) => entry(l.name, l.start));
  cfg.static_logs = logs
    .filter((l) => server.logs.get(l.name)?.kind === "static")
    .map((l) => ({ ...entry(l.name, l.start), origin: server.static(l.name).origin }));
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  const logPath = join(dir, "i.log");
  return { names, port, replica: new Replica(prefix, path, logPath).start(), logPath };
}

function idOf(server: StandInServer, name: string): string {
  return logIdOf({ log_id: null, key: server.logs.get(name)?.key.publicKeyBase64 ?? "", url: "" });
}

async function views(run: Run): Promise<Map<string, LogView>> {
  const res = await fetch(`http://127.0.0.1:${run.port}/api/logs`);
  const { logs } = (await res.json()) as { logs: LogView[] };
  return new Map(logs.map((l) => [l.name, l]));
}

async function waitView(run: Run, name: string, ok: (v: LogView) => boolean, what: string): Promise<LogView> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      // As a restart policy does: an ingester that exits at start (a transient broker answer while its topics
      // are created) is started again.
      if (!run.replica.alive) run.replica.start();
      const v = (await views(run).catch(() => null))?.get(name);
      return v && ok(v) ? v : null;
    },
    60_000,
    300,
  );
}

async function entriesOf(run: Run): Promise<CertificateEntry[]> {
  const codec = testCodec();
  const records = await readTopic(testKafka(), run.names.entries);
  const out: CertificateEntry[] = [];
  for (const r of records) if (r.value) out.push(await codec.decode(r.value));
  return out;
}

describe("tree verification against the logs' signed heads", () => {
  const server = new StandInServer({ growOnStart: false });
  let observe: Run;
  let enforce: Run;

  beforeAll(async () => {
    server.addRfc6962({ name: "ok-rfc", mode: "distinct", certSeed: 181, initialSize: SIZE });
    server.addRfc6962({ name: "mid-rfc", mode: "distinct", certSeed: 182, initialSize: SIZE });
    server.addStatic({ name: "mid-static", mode: "distinct", certSeed: 183, initialSize: 600 });
    server.addRfc6962({
      name: "changed",
      mode: "distinct",
      certSeed: 184,
      initialSize: SIZE,
      faults: { changedEntries: [150] },
    });
    server.addRfc6962({
      name: "reordered",
      mode: "distinct",
      certSeed: 185,
      initialSize: SIZE,
      faults: { reorderedEntries: [200] },
    });
    server.addStatic({
      name: "forked",
      mode: "distinct",
      certSeed: 186,
      initialSize: SIZE,
      // The ingester reads two heads before its position reaches 300 (start, then the loop's): both forked, so
      // the client's own checks (same size, two roots) have nothing to compare them with; the range does.
      faults: { forkedHeads: 2 },
    });
    server.addRfc6962({
      name: "enforced",
      mode: "distinct",
      certSeed: 187,
      initialSize: SIZE,
      faults: { changedEntries: [290] },
    });
    await server.start();
    [observe, enforce] = await Promise.all([
      startIngester(
        server,
        [
          { name: "ok-rfc", start: 0 },
          { name: "mid-rfc", start: 100 },
          { name: "mid-static", start: 300 },
          { name: "changed", start: 0 },
          { name: "reordered", start: 0 },
          { name: "forked", start: 0 },
        ],
        "observe",
        "verify-observe",
      ),
      startIngester(server, [{ name: "enforced", start: 0 }], "enforce", "verify-enforce"),
    ]);
  });

  afterAll(async () => {
    await Promise.all([observe?.replica.terminate(), enforce?.replica.terminate()]);
    await server.stop();
  });

  it("correct trees end verified: from index 0, seeded from one audit path, seeded from hash tiles", async () => {
    const ok = await waitView(observe, "ok-rfc", (v) => v.verification?.state === "verified", "verified");
    expect(ok.verification).toMatchObject({
      mode: "observe",
      verified_size: SIZE,
      seeded_at: 0,
      mismatch: null,
    });
    const mid = await waitView(observe, "mid-rfc", (v) => v.verification?.state === "verified", "verified");
    expect(mid.verification).toMatchObject({ verified_size: SIZE, seeded_at: 100 });
    // One audit path is the only request beyond the heads and entries a mid-log start costs.
    expect(server.rfc("mid-rfc").requests["get-proof-by-hash"]).toBe(1);
    expect(server.rfc("ok-rfc").requests["get-proof-by-hash"]).toBeUndefined();
    const st = await waitView(observe, "mid-static", (v) => v.verification?.state === "verified", "verified");
    expect(st.verification).toMatchObject({ verified_size: 600, seeded_at: 300 });
    // popcount(600) = 4 subtrees of 32 bytes: the whole stored range.
    expect(st.verification?.range_bytes).toBe(4 * 32);

    // The entries carry their leaf hash and their state: the batch reaching the head is verified by it, the
    // ones before were published pending.
    const entries = (await entriesOf(observe)).filter((e) => e.log.id === idOf(server, "ok-rfc"));
    expect(entries.length).toBe(SIZE);
    for (const e of entries) {
      expect(
        Buffer.from(e.leaf_hash ?? []).equals(
          Buffer.from(leafHash(server.rfc("ok-rfc").entry(e.index).leafInput)),
        ),
      ).toBe(true);
      if (e.index >= 256) expect(e.tree_verification).toMatchObject({ state: "verified", tree_size: SIZE });
      else expect(e.tree_verification?.state).toBe("pending");
    }
  });

  it("a changed entry, a reordered entry and a forked head are caught and reported (observe)", async () => {
    for (const name of ["changed", "reordered", "forked"]) {
      const v = await waitView(observe, name, (x) => x.verification?.state === "mismatch", "mismatch");
      expect(v.verification?.mismatch?.tree_size).toBe(SIZE);
      expect(v.verification?.mismatch?.log_root).not.toBe(v.verification?.mismatch?.computed_root);
      // observe publishes: every entry is in the topic.
      expect(v.position).toBe(SIZE);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${observe.port}/metrics`)).text();
    for (const name of ["changed", "reordered", "forked"]) {
      const id = idOf(server, name);
      expect(metrics).toContain(`certstream_ingester_tree_checks_total{log="${id}",result="mismatch"} 1`);
      expect(metrics).toContain(`certstream_ingester_tree_mismatch{log="${id}"} 1`);
    }
    expect(metrics).toContain(`certstream_ingester_tree_mismatch{log="${idOf(server, "ok-rfc")}"} 0`);
    const lines = readFileSync(observe.logPath, "utf8")
      .split("\n")
      .filter((l) => l.includes("CT log tree mismatch"));
    expect(lines.length).toBe(3);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ tree_size: SIZE, mode: "observe" });
    expect(line.log_root).toBeTruthy();
    expect(line.computed_root).toBeTruthy();
  });

  it("an operator's reset drops the range; it is seeded again where the log resumes and verifies", async () => {
    const id = idOf(server, "changed");
    const res = await fetch(
      `http://127.0.0.1:${observe.port}/api/logs/${encodeURIComponent(id)}/verification/reset`,
      { method: "POST" },
    );
    expect(res.status).toBe(200);
    const after = (await views(observe)).get("changed");
    expect(after?.verification).toMatchObject({ state: "unverifiable", mismatch: null, has_range: false });
    server.rfc("changed").grow(20);
    const v = await waitView(
      observe,
      "changed",
      (x) => x.verification?.state === "verified",
      "verified again",
    );
    expect(v.verification).toMatchObject({ verified_size: SIZE + 20, seeded_at: SIZE });
    expect(
      (await fetch(`http://127.0.0.1:${observe.port}/api/logs/nope/verification/reset`, { method: "POST" }))
        .status,
    ).toBe(404);
  });

  it("enforce: a mismatch stops the log's publishing until an operator resets it", async () => {
    const v = await waitView(enforce, "enforced", (x) => x.verification?.state === "halted", "halted");
    expect(v.phase).toBe("halted");
    // The batch that reached the mismatching head is withheld: the position stays where it was.
    expect(v.position).toBe(256);
    const id = idOf(server, "enforced");
    const metrics = await (await fetch(`http://127.0.0.1:${enforce.port}/metrics`)).text();
    expect(metrics).toContain(`certstream_ingester_tree_halted{log="${id}"} 1`);
    const withheld = (await entriesOf(enforce)).filter((e) => e.index >= 256);
    expect(withheld).toEqual([]);
    // Still halted a while later, and after a restart: the halt is in the state committed with the position.
    expect(await enforce.replica.terminate()).toBe(0);
    enforce.replica.start();
    const again = await waitView(enforce, "enforced", (x) => x.phase === "halted", "halted after a restart");
    expect(again.position).toBe(256);
    expect(again.verification?.mismatch?.tree_size).toBe(SIZE);

    // The log is repaired; the operator resets: it resumes, seeded again at 256, and verifies at the head.
    server.rfc("enforced").faults.set({});
    const res = await fetch(
      `http://127.0.0.1:${enforce.port}/api/logs/${encodeURIComponent(id)}/verification/reset`,
      { method: "POST" },
    );
    expect(res.status).toBe(200);
    const done = await waitView(enforce, "enforced", (x) => x.verification?.state === "verified", "verified");
    expect(done.position).toBe(SIZE);
    expect(done.verification).toMatchObject({ verified_size: SIZE, seeded_at: 256 });
    const entries = await entriesOf(enforce);
    expect(entries.length).toBe(SIZE);
    expect(new Set(entries.map((e) => e.index)).size).toBe(SIZE);
  });
});
