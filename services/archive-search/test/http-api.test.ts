import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { writeSyntheticArchive } from "@certstream/archive-search";
import { loadConfig } from "@certstream/config";
import { LocalStorage } from "@certstream/delta";
import { createLogger } from "@certstream/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ArchiveSearchService, startArchiveSearchService } from "../src/service.ts";

let dir: string;
let service: ArchiveSearchService;
let top: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "archive-search-http-"));
  const r = await writeSyntheticArchive(new LocalStorage(dir, { sync: false }), {
    rows: 4000,
    days: 2,
    seed: 9,
    registeredDomains: 500,
    granuleRows: 64,
    derTemplates: [new Uint8Array(600).fill(0x30)],
  });
  top = r.topDomains;
  const { config } = loadConfig({
    argv: [],
    env: {
      CERTSTREAM_HOST: "127.0.0.1",
      CERTSTREAM_ARCHIVE_SEARCH_PORT: "0",
      CERTSTREAM_ARCHIVE_SEARCH_TABLE_PATH: dir,
      CERTSTREAM_ARCHIVE_SEARCH_MAX_SCAN_SHARE: "0.9",
    },
  });
  service = await startArchiveSearchService(config, createLogger("archive-search-test", "silent"));
});

afterAll(async () => {
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string) => fetch(`${service.url}${path}`);

describe("GET /api/search", () => {
  it("answers rows with a DER link and a cursor, and pages to the end", async () => {
    const res = await get(`/api/search?registered=${top[0]}&limit=7`);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const body = (await res.json()) as {
      count: number;
      next_cursor: string | null;
      results: {
        der_link: string;
        index: number;
        leaf_cert: { sha256: string };
        registered_domains: string[];
      }[];
      stats: { bytes_read: number };
    };
    expect(body.count).toBe(7);
    expect(body.results.every((r) => r.registered_domains.includes(top[0]))).toBe(true);
    const der = await get(body.results[0].der_link);
    expect(der.status).toBe(200);
    expect(der.headers.get("content-type")).toBe("application/pkix-cert");
    expect((await der.arrayBuffer()).byteLength).toBe(600);
    let cursor = body.next_cursor;
    const seen = new Set(body.results.map((r) => r.leaf_cert.sha256));
    while (cursor) {
      const next = (await (
        await get(`/api/search?registered=${top[0]}&limit=7&cursor=${cursor}`)
      ).json()) as typeof body;
      for (const r of next.results) {
        expect(seen.has(r.leaf_cert.sha256)).toBe(false);
        seen.add(r.leaf_cert.sha256);
      }
      cursor = next.next_cursor;
    }
    const all = (await (await get(`/api/search?registered=${top[0]}&limit=1000`)).json()) as typeof body;
    expect(seen.size).toBe(all.count);
  });

  it("400 names the parameter; 422 says how to narrow; 410 for a reference that is gone", async () => {
    const bad = await get("/api/search?domain=example.com&limit=5000");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "bad_parameter", parameter: "limit" });
    const unknown = await get("/api/search?isuer=x");
    expect(await unknown.json()).toMatchObject({ parameter: "isuer" });
    const broad = await get("/api/search?issuer=Let's%20Encrypt");
    expect(broad.status).toBe(422);
    expect(await broad.json()).toMatchObject({
      error: "query_too_broad",
      narrow_by: expect.stringMatching(/domain=/),
    });
    const ref = Buffer.from(JSON.stringify([0, "seen_date=2020-01-01/gone.parquet", 0])).toString(
      "base64url",
    );
    expect((await get(`/api/certificate/${ref}`)).status).toBe(410);
    expect((await get("/api/certificate/not-a-ref")).status).toBe(400);
  });

  it("serves health and its metrics", async () => {
    expect((await get("/health/ready")).status).toBe(200);
    const metrics = await (await get("/metrics")).text();
    expect(metrics).toMatch(/certstream_archive_searches_total\{kind="registered",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/certstream_archive_searches_total\{kind="issuer",outcome="too_broad"\} 1/);
  });
});

describe("CLI", () => {
  it("prints a table, JSON lines, and exits 2 naming a bad flag", async () => {
    const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
    const run = promisify(execFile);
    const table = await run(process.execPath, [cli, top[1], "--registered", "--table", dir, "--limit", "3"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^seen \(UTC\)/);
    expect(table.stdout.trim().split("\n")).toHaveLength(4);
    const json = await run(process.execPath, [cli, `*.${top[1]}`, "--json", "--all", "--table", dir]);
    const rows = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { leaf_cert: { all_domains: string[] } });
    expect(rows.length).toBeGreaterThan(3);
    expect(rows.every((r) => r.leaf_cert.all_domains.some((d) => d.endsWith(top[1])))).toBe(true);
    const bad = await run(process.execPath, [cli, "a.com", "--since", "soon", "--table", dir]).catch(
      (e: unknown) => e,
    );
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toMatch(/--since/);
    expect(createHash("sha256").update(table.stdout).digest("hex")).toHaveLength(64);
  });
});
