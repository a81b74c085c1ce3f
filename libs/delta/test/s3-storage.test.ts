import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3StorageOptions, uniqueName } from "../../../test/stack.ts";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  CommitOutcomeUnknownError,
  commitPath,
  DeltaTable,
  optimize,
  S3Storage,
  StorageConfigError,
  s3ClientConfig,
  storageFor,
  TxnConflictError,
  toRow,
  vacuum,
  verifyStorage,
} from "../src/index.ts";
import { realEntries, syntheticEntries } from "./fixtures/entries.ts";
import { readWithDeltaRs } from "./python.ts";

/** The stack's S3-compatible server (moto, scripts/stack.sh), through the sink's own config path. */
const location = (bucket: string, prefix = "") => ({
  table_uri: `s3://${bucket}${prefix ? `/${prefix}` : ""}`,
  table_path: "",
  storage_options: s3StorageOptions(),
});

let client: S3Client;
let bucket: string;

beforeAll(async () => {
  client = new S3Client(s3ClientConfig(location("x")));
  bucket = uniqueName("s3test").toLowerCase();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe("the S3-compatible server of the stack", () => {
  it("refuses a second If-None-Match: * PUT of a key with 412, and keeps the first object", async () => {
    const key = `probe/${uniqueName("k")}`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "one", IfNoneMatch: "*" }));
    const second = await client
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "two", IfNoneMatch: "*" }))
      .then(
        () => null,
        (e: unknown) => e as { $metadata?: { httpStatusCode?: number }; name?: string },
      );
    expect(second?.$metadata?.httpStatusCode).toBe(412);
    const s = new S3Storage({ bucket, client: s3ClientConfig(location(bucket)) });
    expect(new TextDecoder().decode((await s.get(key)) ?? new Uint8Array())).toBe("one");
  });
});

describe("S3Storage", () => {
  it("of 8 writers racing put-if-absent for one key, exactly one wins (10 rounds)", async () => {
    for (let round = 0; round < 10; round++) {
      const key = `race/${uniqueName("k")}`;
      const writers = Array.from(
        { length: 8 },
        () => new S3Storage({ bucket, client: s3ClientConfig(location(bucket)) }),
      );
      const won = await Promise.all(
        writers.map((w, i) => w.putIfAbsent(key, new TextEncoder().encode(`writer ${i}`))),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = won.indexOf(true);
      expect(new TextDecoder().decode((await writers[0].get(key)) ?? new Uint8Array())).toBe(
        `writer ${winner}`,
      );
      for (const w of writers) w.client.destroy();
    }
  });

  it("keeps the Storage contract: put-if-absent, put, get, ranges, list (StartAfter), delete", async () => {
    const s = storageFor(location(bucket, uniqueName("contract"))) as S3Storage;
    const enc = (t: string) => new TextEncoder().encode(t);
    expect(await s.putIfAbsent("_delta_log/00000000000000000000.json", enc("a"))).toBe(true);
    expect(await s.putIfAbsent("_delta_log/00000000000000000000.json", enc("b"))).toBe(false);
    // The same bytes again is our own retried request (answer lost): reported as written, not as a lost race.
    expect(await s.putIfAbsent("_delta_log/00000000000000000000.json", enc("a"))).toBe(true);
    await s.put("_delta_log/00000000000000000001.json", enc("c"));
    await s.put("_delta_log/00000000000000000001.json", enc("cc"));
    await s.put("seen_date=2026-05-20/part-1.parquet", enc("0123456789"));
    expect(new TextDecoder().decode((await s.get("_delta_log/00000000000000000001.json")) ?? enc(""))).toBe(
      "cc",
    );
    expect(await s.get("nothing")).toBeNull();
    expect(new TextDecoder().decode(await s.getRange("seen_date=2026-05-20/part-1.parquet", 2, 5))).toBe(
      "234",
    );
    expect(await s.size("seen_date=2026-05-20/part-1.parquet")).toBe(10);
    expect((await s.list("_delta_log")).map((o) => o.path).sort()).toEqual([
      "_delta_log/00000000000000000000.json",
      "_delta_log/00000000000000000001.json",
    ]);
    expect((await s.list("", false)).map((o) => o.path)).toEqual([]);
    expect((await s.list("", true)).length).toBe(3);
    const after = await s.list("_delta_log", false, { startAfter: "_delta_log/00000000000000000000" });
    expect(after.map((o) => o.path)).toEqual([
      "_delta_log/00000000000000000000.json",
      "_delta_log/00000000000000000001.json",
    ]);
    const later = await s.list("_delta_log", false, { startAfter: "_delta_log/00000000000000000000.json" });
    expect(later.map((o) => o.path)).toEqual(["_delta_log/00000000000000000001.json"]);
    await s.delete("_delta_log/00000000000000000001.json");
    await s.delete("_delta_log/00000000000000000001.json");
    expect(await s.get("_delta_log/00000000000000000001.json")).toBeNull();
  });

  it("uploads a large object in parts, whole and in order", async () => {
    const s = new S3Storage({
      bucket,
      prefix: uniqueName("multipart"),
      client: s3ClientConfig(location(bucket)),
      multipartThresholdBytes: 5 * 1024 * 1024,
      partSizeBytes: 5 * 1024 * 1024,
    });
    const big = new Uint8Array(11 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    await s.put("big.parquet", big);
    const back = await s.get("big.parquet");
    expect(back?.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(back ?? new Uint8Array(), big)).toBe(0);
  });

  it("stops the start with the key named: bad scheme, missing bucket, a store ignoring If-None-Match", async () => {
    expect(() => storageFor({ ...location(bucket), table_uri: "gs://b/t" })).toThrow(
      /config key "delta_sink.table_uri": scheme gs/,
    );
    expect(() => storageFor({ ...location(bucket), table_uri: "s3://Bad_Bucket/t" })).toThrow(
      /delta_sink.table_uri.*not a valid bucket name/,
    );
    const http = { ...location(bucket), storage_options: { ...s3StorageOptions(), AWS_ALLOW_HTTP: "false" } };
    expect(() => storageFor(http)).toThrow(/delta_sink.storage_options.AWS_ENDPOINT_URL.*AWS_ALLOW_HTTP/);
    const half = { ...s3StorageOptions() } as Record<string, string>;
    delete half.AWS_SECRET_ACCESS_KEY;
    expect(() => storageFor({ ...location(bucket), storage_options: half }, { env: {} })).toThrow(
      /delta_sink.storage_options.AWS_SECRET_ACCESS_KEY/,
    );

    const missing = await verifyStorage(storageFor(location(`${bucket}-missing`))).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(StorageConfigError);
    expect(String(missing)).toMatch(/delta_sink.table_uri.*does not exist/);

    await expect(verifyStorage(storageFor(location(bucket, "ok")))).resolves.toBeUndefined();

    // A store that drops If-None-Match (here: a proxy in front of the real one) must be refused.
    const proxy = await s3Proxy(new URL(s3StorageOptions().AWS_ENDPOINT_URL), { stripIfNoneMatch: true });
    try {
      const cfg = {
        ...location(bucket, "ignoring"),
        storage_options: { ...s3StorageOptions(), AWS_ENDPOINT_URL: proxy.url },
      };
      const err = await verifyStorage(storageFor(cfg)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageConfigError);
      expect(String(err)).toMatch(/does not honour If-None-Match/);
    } finally {
      await new Promise((r) => proxy.server.close(r));
    }
  });
});

describe("a commit whose answer S3 loses", () => {
  it("counts as landed when the version reads back as ours; when it cannot be read, the files it names stay (append and optimize)", async () => {
    let lose: (method: string, path: string) => boolean = () => false;
    const proxy = await s3Proxy(new URL(s3StorageOptions().AWS_ENDPOINT_URL), {
      loseAnswer: (m, p) => lose(m, p),
    });
    try {
      const prefix = uniqueName("lost");
      const storage = storageFor({
        ...location(bucket, prefix),
        storage_options: { ...s3StorageOptions(), AWS_ENDPOINT_URL: proxy.url },
      });
      const table = await DeltaTable.openOrCreate(
        storage,
        { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
        { writer: CERTSTREAM_WRITER_OPTIONS },
      );
      const rows = syntheticEntries(300, { start: 0, days: 2 }).map(toRow);
      const append = (from: number, version: number) =>
        table.append(rows.slice(from, from + 100), {
          txns: [{ appId: "a", version }],
          expectedTxns: new Map([["a", version === 0 ? undefined : version - 1]]),
        });
      await append(0, 0);
      const commitKey = (v: number) => `/${bucket}/${prefix}/_delta_log/${String(v).padStart(20, "0")}.json`;

      // Every answer to version 2's PUT lost (the first lands; the SDK's retries meet 412, lost too); reads
      // answered: the version holds our bytes, so the append succeeded.
      lose = (m, p) => m === "PUT" && p.startsWith(commitKey(2));
      expect((await append(100, 1)).version).toBe(2);

      // Version 3's PUT answers lost, and once it was sent, reads of it too: nobody can say whether it
      // landed (it did), so the append fails saying so, and the data files it names stay.
      let sent = false;
      lose = (m, p) => {
        if (!p.startsWith(commitKey(3))) return false;
        if (m === "PUT") sent = true;
        return sent;
      };
      const unknown = await append(200, 2).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(CommitOutcomeUnknownError);
      lose = () => false;
      // The sink's next try of the same offsets finds them committed, as it does after any lost answer.
      expect(await append(200, 2).catch((e: unknown) => e)).toBeInstanceOf(TxnConflictError);

      // Optimize's commit of version 4 (a day's three files into one) the same way: the file it wrote stays, as
      // the commit that landed removed the three.
      sent = false;
      lose = (m, p) => {
        if (!p.startsWith(commitKey(4))) return false;
        if (m === "PUT") sent = true;
        return sent;
      };
      const compacted = await optimize(table, {
        plainColumns: CERTSTREAM_WRITER_OPTIONS.plainColumns,
      }).catch((e: unknown) => e);
      expect(compacted).toBeInstanceOf(CommitOutcomeUnknownError);
      lose = () => false;

      const view = await readWithDeltaRs(`s3://${bucket}/${prefix}`, ["a"], s3StorageOptions());
      expect(view.version).toBe(4);
      expect(view.txns.a).toBe(2);
      const keys = view.rows.map((r) => `${r.source_url}#${r.cert_index}`);
      expect(keys).toHaveLength(rows.length);
      expect(new Set(keys).size).toBe(rows.length);
    } finally {
      await new Promise((r) => proxy.server.close(r));
    }
  }, 120_000);
});

describe("DeltaTable on S3", () => {
  let prefix: string;
  let written: ReturnType<typeof toRow>[];

  beforeAll(async () => {
    prefix = uniqueName("table");
    const storage = storageFor(location(bucket, prefix));
    const table = await DeltaTable.openOrCreate(
      storage,
      { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
      { checkpointInterval: 3, writer: CERTSTREAM_WRITER_OPTIONS },
    );
    written = [...realEntries(), ...syntheticEntries(300, { start: 100, logs: 2, days: 2 })].map(toRow);
    for (let i = 0; i < 6; i++) {
      await table.append(
        written.filter((_, k) => k % 6 === i),
        { txns: [{ appId: "sink-entries-0", version: i }] },
      );
    }
  }, 60_000);

  it("is read by delta-rs from the S3 endpoint: every row once, txn, checkpoint", async () => {
    const view = await readWithDeltaRs(`s3://${bucket}/${prefix}`, ["sink-entries-0"], s3StorageOptions());
    expect(view.version).toBe(6);
    expect(view.txns["sink-entries-0"]).toBe(5);
    const keys = view.rows.map((r) => `${r.source_url}#${r.cert_index}`);
    expect(new Set(keys).size).toBe(written.length);
    expect(keys).toHaveLength(written.length);
    const storage = storageFor(location(bucket, prefix));
    expect(await storage.get("_delta_log/00000000000000000006.checkpoint.parquet")).not.toBeNull();
    expect(await storage.get(commitPath(7))).toBeNull();
  });

  it("optimize and vacuum work on S3, and delta-rs still reads every row once", async () => {
    const storage = storageFor(location(bucket, prefix));
    const table = await DeltaTable.open(storage, { writer: CERTSTREAM_WRITER_OPTIONS });
    const before = table.snapshot.numFiles;
    const result = await optimize(table, { plainColumns: CERTSTREAM_WRITER_OPTIONS.plainColumns });
    expect(table.snapshot.numFiles).toBeLessThan(before);
    expect(result).toBeDefined();
    // Retention 0 here only: the files optimize replaced are gone from S3; live ones stay.
    const swept = await vacuum(table, { retentionHours: 0 });
    expect(swept.deleted.length).toBe(result.filesRemoved);
    expect(table.snapshot.numFiles).toBe(before - result.filesRemoved + result.filesAdded);
    const view = await readWithDeltaRs(`s3://${bucket}/${prefix}`, [], s3StorageOptions());
    expect(view.rows).toHaveLength(written.length);
  }, 60_000);
});

afterAll(() => client?.destroy());

/**
 * A proxy in front of the stack's S3 server. `stripIfNoneMatch`: it drops the header (a store that ignores it).
 * `loseAnswer(method, path)`: it forwards the request, lets the server act on it, and cuts the connection
 * instead of answering (a store whose answer is lost on the way back).
 */
async function s3Proxy(
  target: URL,
  o: { stripIfNoneMatch?: boolean; loseAnswer?: (method: string, path: string) => boolean },
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const headers = { ...req.headers };
    if (o.stripIfNoneMatch) delete headers["if-none-match"];
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (r) => {
        if (o.loseAnswer?.(req.method ?? "", req.url ?? "")) {
          r.resume();
          r.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
