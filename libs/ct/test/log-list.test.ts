import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { TESTDATA } from "../../../test/ct-standin/testdata.ts";
import {
  diffLogLists,
  type LogListDiff,
  LogListWatcher,
  loadLogList,
  parseLogList,
  pseudoLogId,
  toLogSource,
  verifyLogListSignature,
} from "../src/log-list.ts";

const DIR = join(TESTDATA, "log-list");
const LIST = join(DIR, "google-v3-log_list-v85.92-2026-05-29.json");
const SIG = join(DIR, "google-v3-log_list-v85.92-2026-05-29.sig");
const PEM = readFileSync(join(DIR, "google-v3-log_list-signing-pubkey.pem"), "utf8");
const SAMPLE = join(DIR, "ct-go-sample-loglist3-v9.4-2022.json");

describe("log list", () => {
  it("the real signed Google list verifies; a tampered copy does not", async () => {
    const bytes = readFileSync(LIST);
    expect(verifyLogListSignature(bytes, readFileSync(SIG), PEM)).toBe(true);
    const tampered = Buffer.from(bytes);
    tampered[tampered.indexOf("usable")] = "U".charCodeAt(0);
    expect(verifyLogListSignature(tampered, readFileSync(SIG), PEM)).toBe(false);

    const list = await loadLogList({ location: LIST, signatureLocation: SIG, publicKeyPem: PEM });
    expect(list.version).toBe("85.92");
    const byPath = await loadLogList({
      location: LIST,
      signatureLocation: SIG,
      publicKeyPath: join(DIR, "google-v3-log_list-signing-pubkey.pem"),
    });
    expect(byPath.logs.length).toBe(list.logs.length);
    expect(toLogSource(list.logs[0])).toEqual({
      id: list.logs[0].id,
      name: list.logs[0].name,
      url: list.logs[0].url,
      operator: list.logs[0].operator,
      kind: list.logs[0].kind,
    });
    const dir = mkdtempSync(join(tmpdir(), "loglist-"));
    writeFileSync(join(dir, "log_list.json"), tampered);
    writeFileSync(join(dir, "log_list.sig"), readFileSync(SIG));
    await expect(loadLogList({ location: join(dir, "log_list.json"), publicKeyPem: PEM })).rejects.toThrow(
      /does not verify/,
    );
  });

  it("selects RFC 6962 logs and tiled logs with keys, states and names", async () => {
    const list = await loadLogList({ location: LIST });
    const rfc = list.logs.filter((l) => l.kind === "rfc6962");
    const tiled = list.logs.filter((l) => l.kind === "static");
    // 56 logs: 4 retired are skipped by default; the rest are usable or readonly.
    expect(rfc.length + tiled.length + list.skipped.length).toBe(56);
    expect(list.skipped.filter((s) => s.reason === "state:retired").length).toBe(4);
    expect(tiled.length).toBe(21);
    const argon = list.logs.find((l) => l.url === "https://ct.googleapis.com/logs/us1/argon2026h2/");
    expect(argon?.name).toBe("Google 'Argon2026h2'");
    expect(argon?.operator).toBe("Google");
    expect(argon?.key?.type).toBe("ec");
    expect(argon?.id).toBe(argon?.key?.logIdBase64);
    const tuscolo = list.logs.find((l) => l.description === "Geomys 'Tuscolo2026h1'");
    expect(tuscolo?.url).toBe("https://tuscolo2026h1.skylight.geomys.org/");
    expect(tuscolo?.origin).toBe("tuscolo2026h1.sunlight.geomys.org");
    expect(tuscolo?.mmdSecs).toBe(60);
  });

  it("excludes by operator and by log (id, name or url)", () => {
    const json = readFileSync(LIST, "utf8");
    const all = parseLogList(json);
    const some = parseLogList(json, {
      excludedOperators: ["sectigo"],
      excludedLogs: [
        "Google 'Argon2026h2'",
        "https://mon.sycamore.ct.letsencrypt.org/2026h1/",
        all.logs[0].id,
      ],
    });
    expect(some.logs.some((l) => l.operator === "Sectigo")).toBe(false);
    expect(some.skipped.filter((s) => s.reason === "excluded_log").length).toBe(3);
    expect(some.logs.length).toBe(
      all.logs.length - 3 - all.logs.filter((l) => l.operator === "Sectigo").length,
    );
  });

  it("handles the odd entries of the ct-go sample list", () => {
    const list = parseLogList(readFileSync(SAMPLE, "utf8"), {
      watchStates: ["usable", "qualified", "readonly", "retired", "unknown"],
    });
    const reasons = Object.fromEntries(list.skipped.map((s) => [s.description, s.reason]));
    expect(reasons["Google 'Racketeer' log"]).toBe("invalid_key");
    const bob = list.logs.find((l) => l.description === "Bob's Dubious Log");
    expect(bob?.url).toBe("https://log.bob.io/");
    expect(bob?.state).toBe("retired");
    const aviator = list.logs.find((l) => l.name === "Google 'Aviator'");
    expect(aviator?.state).toBe("readonly");
    expect(aviator?.finalTreeHead?.treeSize).toBe(46466472);
    // With the default states, retired Bob is skipped.
    const def = parseLogList(readFileSync(SAMPLE, "utf8"));
    expect(def.logs.map((l) => l.name).sort()).toEqual([
      "Google 'Argon2020'",
      "Google 'Aviator'",
      "Google 'Icarus'",
      "Google 'Rocketeer'",
    ]);
  });

  it("adds custom_logs and static_logs from config, taking keys from the list when listed", () => {
    const json = readFileSync(LIST, "utf8");
    const list = parseLogList(json, {
      customLogs: [
        {
          name: "argon-again",
          url: "https://ct.googleapis.com/logs/us1/argon2026h2",
          start_index: 1111014090,
        },
        { name: "private", url: "https://ct.example.net/private/", operator: "Example" },
      ],
      staticLogs: [
        {
          name: "rome",
          url: "https://rome2026h1.example.org/",
          key: JSON.parse(
            readFileSync(join(TESTDATA, "static-ct/sunlight-skylight-testlog/log.v3.json"), "utf8"),
          ).key,
        },
      ],
    });
    const argon = list.logs.filter((l) => l.url === "https://ct.googleapis.com/logs/us1/argon2026h2/");
    expect(argon.length).toBe(1);
    expect(argon[0].name).toBe("argon-again");
    expect(argon[0].startIndex).toBe(1111014090);
    expect(argon[0].key).not.toBeNull();
    expect(argon[0].operator).toBe("Google");
    const priv = list.logs.find((l) => l.name === "private");
    expect(priv?.key).toBeNull();
    expect(priv?.id).toBe(pseudoLogId("https://ct.example.net/private/"));
    const rome = list.logs.find((l) => l.name === "rome");
    expect(rome?.kind).toBe("static");
    expect(rome?.id).toBe("CKIDXIl+znJaHUyhzhNVaSxIUov59RCXLh3fJXJExnk=");
    expect(rome?.origin).toBe("rome2026h1.example.org");
    expect(() =>
      parseLogList(json, {
        customLogs: [{ name: "x", url: "https://ct.googleapis.com/logs/us1/argon2026h2/", log_id: "AAAA" }],
      }),
    ).toThrow(/log_id/);
  });

  it("diffs two selections: added, removed, retired, changed", () => {
    const json = JSON.parse(readFileSync(LIST, "utf8"));
    const before = parseLogList(json);
    const next = structuredClone(json);
    const google = next.operators.find((o: { name: string }) => o.name === "Google");
    const retiredLog = google.logs[0];
    retiredLog.state = { retired: { timestamp: "2026-06-01T00:00:00Z" } };
    const removedLog = google.logs.splice(1, 1)[0];
    const after = parseLogList(next, { customLogs: [{ name: "new", url: "https://new.example/ct/" }] });
    const d = diffLogLists(before.logs, after);
    expect(d.retired.map((l) => l.id)).toEqual([retiredLog.log_id]);
    expect(d.removed.map((l) => l.id)).toEqual([removedLog.log_id]);
    expect(d.added.map((l) => l.name)).toEqual(["new"]);
    expect(d.changed).toEqual([]);
  });
});

describe("LogListWatcher over HTTP", () => {
  const server = new StandInServer({
    rfc6962: [
      { name: "a", initialSize: 5 },
      { name: "b", initialSize: 5 },
    ],
  });
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("refreshes with a diff so watchers can start/stop, and a failed refresh changes nothing", async () => {
    const diffs: LogListDiff[] = [];
    const w = new LogListWatcher({
      source: { location: `${server.baseUrl}/log_list.json` },
      onChange: (d) => {
        diffs.push(d);
      },
    });
    const first = await w.start();
    expect(first.logs.map((l) => l.name).sort()).toEqual(["Stand-in 'a'", "Stand-in 'b'"]);
    expect(first.logs.every((l) => l.url.startsWith(server.baseUrl))).toBe(true);
    server.logs.delete("b");
    const d = await w.refresh();
    expect(d?.removed.map((l) => l.name)).toEqual(["Stand-in 'b'"]);
    expect(diffs.length).toBe(1);
    // A refresh that cannot be had (404) changes nothing.
    const failing = new LogListWatcher({ source: { location: `${server.baseUrl}/nope/log_list.json` } });
    await expect(failing.start()).rejects.toThrow();
  });

  it("refreshes periodically on its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "loglist-"));
    const json = join(dir, "log_list.json");
    const doc = JSON.parse(readFileSync(LIST, "utf8"));
    writeFileSync(json, JSON.stringify(doc));
    const changes: LogListDiff[] = [];
    const w = new LogListWatcher({
      source: { location: json },
      refreshIntervalMs: 50,
      onChange: (d) => void changes.push(d),
    });
    await w.start();
    try {
      doc.operators = doc.operators.filter((o: { name: string }) => o.name !== "Cloudflare");
      writeFileSync(json, JSON.stringify(doc));
      for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(changes[0]?.removed.map((l) => l.operator)).toEqual(["Cloudflare", "Cloudflare"]);
    } finally {
      w.stop();
    }
  });

  it("a refresh that fails (tampered list, garbage) keeps the list in force", async () => {
    const dir = mkdtempSync(join(tmpdir(), "loglist-"));
    const json = join(dir, "log_list.json");
    writeFileSync(json, readFileSync(LIST));
    writeFileSync(join(dir, "log_list.sig"), readFileSync(SIG));
    const w = new LogListWatcher({ source: { location: json, publicKeyPem: PEM } });
    const first = await w.start();
    const tampered = readFileSync(LIST, "utf8").replace("argon2026h2", "argon2026h3");
    writeFileSync(json, tampered);
    expect(await w.refresh()).toBeNull();
    writeFileSync(json, "{not json");
    expect(await w.refresh()).toBeNull();
    expect(w.current).toBe(first);
    writeFileSync(json, readFileSync(LIST));
    const d = await w.refresh();
    expect(d).toEqual({ added: [], removed: [], retired: [], changed: [] });
  });
});
