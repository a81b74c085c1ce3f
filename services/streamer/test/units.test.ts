/** Pure logic of the streamer: filters, cursors, framing, the slow-client policy, access control. */
import type { Writable } from "node:stream";
import type { CertificateEntry } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { frameReader } from "../../../test/ws-frames.ts";
import { Access } from "../src/access.ts";
import {
  CLOSE_TOO_SLOW,
  type ClientLimits,
  type ClientSink,
  IN_FLIGHT_BYTES,
  StreamClient,
} from "../src/client.ts";
import { CursorError, decodeCursor, encodeCursor, parseSince } from "../src/cursor.ts";
import { entryKeys, Fanout } from "../src/fanout.ts";
import { FilterIndex } from "../src/filter-index.ts";
import { ClientFilter, FilterError } from "../src/filters.ts";
import { sseEvent, wsTextFrame } from "../src/frames.ts";
import { renderFormat } from "../src/render.ts";
import { ReplayBuffer } from "../src/replay-buffer.ts";
import { streamerSettings } from "../src/settings.ts";
import { WriteBatch } from "../src/write-batch.ts";
import { realEntries, waitFor } from "./harness.ts";

const q = (s: string) => new URLSearchParams(s);

describe("filters", () => {
  const entries = realEntries();
  const dragonjar = entries.find((e) => e.leaf?.all_domains.includes("portal.dragonjar.org"));
  if (!dragonjar) throw new Error("fixture changed: portal.dragonjar.org missing");
  const k = entryKeys(dragonjar);

  it("no filter parameter means no filter", () => {
    expect(ClientFilter.fromQuery(q("since=x&token=y"))).toBeNull();
  });
  it("exact domain matches and non-matches", () => {
    expect(ClientFilter.fromQuery(q("domain=portal.dragonjar.org"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("domain=PORTAL.dragonjar.org"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("domain=dragonjar.org"))?.matches(k)).toBe(false);
  });
  it("*.suffix matches subdomains only; comma-separated values are alternatives", () => {
    expect(ClientFilter.fromQuery(q("domain=*.dragonjar.org"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("domain=*.portal.dragonjar.org"))?.matches(k)).toBe(false);
    expect(ClientFilter.fromQuery(q("domain=nothing.invalid,*.dragonjar.org"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("domain=*.example.com"))?.matches(k)).toBe(false);
  });
  it("issuer substring and log, combined with AND", () => {
    expect(ClientFilter.fromQuery(q("issuer=google trust"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("issuer=let's encrypt"))?.matches(k)).toBe(false);
    expect(ClientFilter.fromQuery(q("log=argon2026h2"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("log=xenon2026h2"))?.matches(k)).toBe(false);
    expect(ClientFilter.fromQuery(q(`log=${encodeURIComponent(dragonjar.log.id)}`))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("domain=*.dragonjar.org&issuer=WR1"))?.matches(k)).toBe(true);
    expect(ClientFilter.fromQuery(q("domain=*.dragonjar.org&issuer=R12"))?.matches(k)).toBe(false);
  });
  it("every real entry matches its own first domain exactly", () => {
    for (const e of entries) {
      if (!e.leaf || e.leaf.all_domains.length === 0) continue;
      expect(ClientFilter.fromQuery(q(`domain=${e.leaf.all_domains[0]}`))?.matches(entryKeys(e))).toBe(true);
    }
  });
  it("bad filters are refused with a reason", () => {
    expect(() => ClientFilter.fromQuery(q("domain=foo.*.com"))).toThrow(FilterError);
    expect(() => ClientFilter.fromQuery(q(`domain=${"a,".repeat(150)}`))).toThrow(FilterError);
    for (const empty of ["domain=", "domain=%20", "domain=,", "issuer=", "log=&domain=a.com"])
      expect(() => ClientFilter.fromQuery(q(empty)), empty).toThrow(
        /parameter "(domain|issuer|log)" is empty/,
      );
  });
});

describe("cursor", () => {
  it("round-trips and is opaque base64url", () => {
    const pos = new Map([
      [0, 12],
      [1, 0],
      [7, 123456789012],
    ]);
    const c = encodeCursor(pos);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c)).toEqual(pos);
  });
  it("refuses garbage", () => {
    expect(() => decodeCursor("not a cursor!")).toThrow(CursorError);
    expect(() => decodeCursor(Buffer.from("c2:0.1").toString("base64url"))).toThrow(CursorError);
    expect(() => decodeCursor(Buffer.from("c1:0.x").toString("base64url"))).toThrow(CursorError);
  });
  it("since= takes seconds, milliseconds, ISO dates or a cursor", () => {
    expect(parseSince("1700000000")).toEqual({ timestampMs: 1_700_000_000_000 });
    expect(parseSince("1700000000.5")).toEqual({ timestampMs: 1_700_000_000_500 });
    expect(parseSince("1700000000123")).toEqual({ timestampMs: 1_700_000_000_123 });
    expect(parseSince("2026-11-24T21:00:00Z")).toEqual({ timestampMs: Date.parse("2026-11-24T21:00:00Z") });
    expect(parseSince(encodeCursor(new Map([[2, 5]])))).toEqual({ cursor: new Map([[2, 5]]) });
  });
});

describe("frames", () => {
  it("WebSocket text frames for the three length encodings", () => {
    for (const n of [5, 125, 126, 65535, 65536, 200_000]) {
      const f = wsTextFrame(Buffer.alloc(n, 0x61));
      expect(f[0]).toBe(0x81);
      const len = f[1] < 126 ? f[1] : f[1] === 126 ? f.readUInt16BE(2) : f.readUInt32BE(6);
      expect(len).toBe(n);
      expect(f.length).toBe(n + (n < 126 ? 2 : n < 65536 ? 4 : 10));
    }
  });
  it("SSE events with and without id", () => {
    expect(sseEvent(Buffer.from('{"a":1}'), "abc").toString()).toBe('id: abc\ndata: {"a":1}\n\n');
    expect(sseEvent(Buffer.from("x\ny"), null).toString()).toBe("data: x\ndata: y\n\n");
  });
});

class MemorySink implements ClientSink {
  queued = 0;
  written: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;
  buffered(): number {
    return this.queued;
  }
  write(frame: Buffer): void {
    this.queued += frame.length;
    this.written.push(frame);
  }
  frame(m: Buffer): Buffer {
    return m;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
}

describe("slow-client policy", () => {
  const make = (sink: MemorySink, limits: Partial<ClientLimits> = {}) => {
    const drops: number[] = [];
    const client = new StreamClient({
      format: "lite",
      transport: "ws",
      ip: "127.0.0.1",
      filter: null,
      sink,
      events: { dropped: (_c, n) => drops.push(n), slowDisconnect: () => {} },
      limits: { limitBytes: 1000, maxDropped: 100, windowMs: 60_000, ...limits },
    });
    return { client, drops };
  };
  const json = (b: Buffer | undefined) => JSON.parse(b?.toString() ?? "{}");
  it("drops over the limit, notifies with the count once drained, and keeps memory bounded", () => {
    const sink = new MemorySink();
    const { client, drops } = make(sink);
    const frame = Buffer.alloc(300);
    let t = 1000;
    for (let i = 0; i < 10; i++) client.deliver(frame, t++);
    expect(sink.queued).toBeLessThanOrEqual(1000);
    expect(drops.length).toBe(7);
    sink.queued = 0; // the client read everything
    client.deliver(frame, t++);
    expect(json(sink.written.at(-2))).toMatchObject({ message_type: "dropped", count: 7 });
    expect(sink.closed).toBeNull();
  });
  it("the loss is one contiguous gap: nothing is queued between the first drop and the drain to half", () => {
    const sink = new MemorySink();
    const { client } = make(sink);
    const frame = Buffer.alloc(300);
    for (let i = 0; i < 4; i++) client.deliver(frame, i); // 3 fit, the 4th drops
    sink.queued = 600; // drained a little, not to half: a frame would fit, but the gap stays contiguous
    expect(client.deliver(frame, 10)).toBe(false);
    sink.queued = 500;
    expect(client.deliver(frame, 11)).toBe(true);
    expect(json(sink.written.at(-2))).toMatchObject({ message_type: "dropped", count: 2 });
  });
  it("judges by the drops within the window, not by how long the buffer stays full", () => {
    const sink = new MemorySink();
    const { client, drops } = make(sink, { maxDropped: 10, windowMs: 60_000 });
    const frame = Buffer.alloc(600);
    client.deliver(frame, 0);
    // Full for ten minutes, one drop every 7 s: never more than 10 within 60 s.
    for (let t = 1; t <= 600_000; t += 7000) {
      client.deliver(frame, t);
      client.sweep(t);
    }
    expect(drops.length).toBeGreaterThan(80);
    expect(sink.closed).toBeNull();
    sink.queued = 0;
    client.sweep(600_001);
    expect(json(sink.written.at(-1))).toMatchObject({ message_type: "dropped", count: drops.length });
  });
  it("more drops than slow_client_max_dropped within the window: a last notice, then 4008", () => {
    const sink = new MemorySink();
    const { client } = make(sink, { maxDropped: 5, windowMs: 60_000 });
    const frame = Buffer.alloc(600);
    client.deliver(frame, 0);
    for (let i = 1; i <= 5; i++) client.deliver(frame, i * 1000);
    expect(sink.closed).toBeNull();
    client.deliver(frame, 6000);
    expect(sink.closed?.code).toBe(CLOSE_TOO_SLOW);
    expect(sink.closed?.reason).toBe("too slow: more than 5 messages dropped in 60 s");
    expect(json(sink.written.at(-1))).toMatchObject({
      message_type: "dropped",
      count: 6,
      reason: "client too slow, disconnecting",
    });
    expect(client.deliver(frame, 7000)).toBe(false);
  });
  it("drops older than the window no longer count", () => {
    const sink = new MemorySink();
    const { client } = make(sink, { maxDropped: 5, windowMs: 60_000 });
    const frame = Buffer.alloc(600);
    client.deliver(frame, 0);
    for (let i = 1; i <= 5; i++) client.deliver(frame, i);
    for (let i = 1; i <= 5; i++) client.deliver(frame, 80_000 + i);
    expect(sink.closed).toBeNull();
  });
  it("frames past IN_FLIGHT_BYTES wait in the client, go out in order on pump, and are let go on a cut-off", () => {
    const sink = new MemorySink();
    const { client, drops } = make(sink, { limitBytes: 1 << 20, maxDropped: 3 });
    const frames = Array.from({ length: 50 }, (_, i) => Buffer.alloc(20_000, i));
    for (const f of frames) client.deliver(f, 0);
    // the socket holds just over IN_FLIGHT_BYTES; the rest waits in the client, counted in its buffer
    expect(sink.queued).toBeLessThan(IN_FLIGHT_BYTES + 20_000);
    expect(client.buffered()).toBe(50 * 20_000);
    sink.queued = 0; // the kernel took it all
    client.pump();
    expect(sink.written.length).toBeGreaterThan(4);
    expect(sink.written.map((b) => b[0])).toEqual(frames.slice(0, sink.written.length).map((_, i) => i));
    // fill up to the limit, then drop past slow_client_max_dropped: what still waits is let go
    for (let i = 0; i < 60; i++) client.deliver(Buffer.alloc(20_000), 1);
    const written = sink.written.length;
    expect(sink.closed?.code).toBe(CLOSE_TOO_SLOW);
    expect(client.buffered()).toBe(0);
    const notice = json(sink.written.at(-1));
    expect(notice).toMatchObject({ message_type: "dropped", reason: "client too slow, disconnecting" });
    expect(notice.count).toBeGreaterThan(4); // the drops and the frames let go
    expect(drops.reduce((a, n) => a + n, 0)).toBe(notice.count);
    expect(written).toBe(sink.written.length);
  });
  it("close() sends what waits before the close (shutdown keeps the data)", () => {
    const sink = new MemorySink();
    const { client } = make(sink, { limitBytes: 1 << 20 });
    for (let i = 0; i < 10; i++) client.deliver(Buffer.alloc(20_000), 0);
    client.close(1001, "going away");
    expect(sink.written.length).toBe(10);
    expect(sink.closed?.code).toBe(1001);
  });
});

describe("resume points after a gap", () => {
  it("after its first drop an SSE client's events carry no id, and its heartbeats the cursor before the gap", () => {
    const fanout = new Fanout({ delivered: () => {}, renderFailed: () => {} });
    const sink = new MemorySink();
    const client = new StreamClient({
      format: "lite",
      transport: "sse",
      ip: "x",
      filter: null,
      sink,
      events: { dropped: () => {}, slowDisconnect: () => {} },
      limits: { limitBytes: 5000, maxDropped: 1000, windowMs: 60_000 },
    });
    fanout.add(client);
    const entries = realEntries();
    const idOf = (b: Buffer | undefined) => /^id: (\S+)\n/.exec(b?.toString() ?? "")?.[1] ?? null;
    let offset = 100;
    while (client.droppedTotal === 0) {
      fanout.publish(entries[offset % 20], 0, offset++);
      fanout.flush();
    }
    const gapAt = offset - 1;
    expect(decodeCursor(idOf(sink.written.at(-1)) as string).get(0)).toBe(gapAt); // the last event it got
    sink.queued = 0; // it read everything
    fanout.publish(entries[1], 0, offset++);
    fanout.flush();
    expect(
      JSON.parse(
        sink.written
          .at(-2)
          ?.toString()
          .replace(/^data: /, "") ?? "{}",
      ).message_type,
    ).toBe("dropped");
    expect(idOf(sink.written.at(-1))).toBeNull();
    expect(sink.written.at(-1)?.toString()).toMatch(/^data: \{"message_type":"certificate_update"/);
    fanout.heartbeat(0);
    const beat = sink.written.at(-1)?.toString() ?? "";
    expect(decodeCursor(idOf(sink.written.at(-1)) as string).get(0)).toBe(gapAt);
    expect(beat).toContain(`"cursor":"${client.gapCursor}"`);
    // a client without a gap still gets the stream's cursor
    expect(decodeCursor(fanout.cursor()).get(0)).toBe(offset);
  });
});

describe("write batch", () => {
  it("uncorks thousands of sockets in slices, every one of them in the end", async () => {
    const batch = new WriteBatch(0);
    let uncorked = 0;
    const streams = Array.from({ length: 2000 }, () => {
      let corked = 0;
      return {
        get writableCorked() {
          return corked;
        },
        writableLength: 0,
        cork() {
          corked++;
        },
        uncork() {
          const until = performance.now() + 0.02; // a writev syscall's worth
          while (performance.now() < until);
          corked--;
          uncorked++;
        },
      };
    });
    for (const st of streams) batch.hold(st as unknown as Writable);
    batch.flush();
    expect(uncorked).toBeGreaterThan(0);
    expect(uncorked).toBeLessThan(streams.length); // 2000 × 20 µs = 40 ms: more than one slice
    await waitFor(() => uncorked === streams.length, 5000, "every stream uncorked");
    expect(streams.every((st) => st.writableCorked === 0)).toBe(true);
  });
});

describe("access", () => {
  const settings = streamerSettings({
    auth: { enabled: true, tokens: ["s3cret", "other"], header_name: "X-Api-Key" },
    connection_limit: { enabled: true, max_connections: 3, per_ip_limit: 2 },
    rate_limit: { enabled: true, requests_per_second: 1, burst: 2 },
    trusted_proxies: ["10.0.0.0/8", "::1"],
  });
  it("bearer tokens in the configured header, or ?token=", () => {
    const a = new Access(settings);
    expect(a.checkAuth({ "x-api-key": "Bearer s3cret" }, null)).toBeNull();
    expect(a.checkAuth({ "x-api-key": "other" }, null)).toBeNull();
    expect(a.checkAuth({}, "s3cret")).toBeNull();
    expect(a.checkAuth({ "x-api-key": "s3cre" }, null)?.status).toBe(401);
    expect(a.checkAuth({ authorization: "Bearer s3cret" }, null)?.status).toBe(401);
    expect(a.checkAuth({}, null)?.status).toBe(401);
  });
  it("global and per-IP connection limits, released on close", () => {
    const a = new Access(settings);
    expect(a.acquire("1.1.1.1")).toBeNull();
    expect(a.acquire("1.1.1.1")).toBeNull();
    expect(a.acquire("1.1.1.1")?.kind).toBe("per_ip_limit");
    expect(a.acquire("2.2.2.2")).toBeNull();
    expect(a.acquire("3.3.3.3")?.kind).toBe("max_connections");
    a.release("1.1.1.1");
    expect(a.acquire("3.3.3.3")).toBeNull();
  });
  it("rate limit per IP with burst and refill", () => {
    const a = new Access(settings);
    expect(a.checkRate("1.1.1.1", 0)).toBeNull();
    expect(a.checkRate("1.1.1.1", 0)).toBeNull();
    expect(a.checkRate("1.1.1.1", 0)?.status).toBe(429);
    expect(a.checkRate("9.9.9.9", 0)).toBeNull();
    expect(a.checkRate("1.1.1.1", 1000)).toBeNull();
  });
  it("X-Forwarded-For only from trusted proxies", () => {
    const a = new Access(settings);
    expect(a.clientIp("10.1.2.3", "203.0.113.9")).toBe("203.0.113.9");
    expect(a.clientIp("::ffff:10.1.2.3", "198.51.100.1, 203.0.113.9, 10.9.9.9")).toBe("203.0.113.9");
    expect(a.clientIp("192.0.2.1", "203.0.113.9")).toBe("192.0.2.1");
    expect(a.clientIp("::1", "2001:db8::1")).toBe("2001:db8::1");
  });
  it("update() with a bad trusted_proxies entry changes nothing", () => {
    const a = new Access(settings);
    expect(() =>
      a.update({ ...settings, auth: { ...settings.auth, tokens: ["x"] }, trusted_proxies: ["10.0.0.0/99"] }),
    ).toThrow(/trusted_proxies/);
    expect(() => a.update({ ...settings, trusted_proxies: ["not-an-ip"] })).toThrow(/trusted_proxies/);
    expect(a.checkAuth({ "x-api-key": "s3cret" }, null)).toBeNull();
    expect(a.clientIp("10.1.2.3", "203.0.113.9")).toBe("203.0.113.9");
  });
  it("update() applies new settings (hot reload)", () => {
    const a = new Access(settings);
    a.update({ ...settings, auth: { ...settings.auth, tokens: ["new"] } });
    expect(a.checkAuth({ "x-api-key": "s3cret" }, null)?.status).toBe(401);
    expect(a.checkAuth({ "x-api-key": "new" }, null)).toBeNull();
  });
});

describe("replay buffer", () => {
  const entry = realEntries()[0];
  const rec = (partition: number, offset: number, e = entry) => ({
    partition,
    offset,
    entry: e,
    cursor: `c${offset}`,
    keys: null,
  });
  const chainKey = (e: CertificateEntry) => e.chain.map((c) => c.cert?.sha256 ?? "").join(",");

  it("stores a record compactly and gives back what renders as the live feed rendered it", () => {
    const rb = new ReplayBuffer(8);
    const entries = realEntries().slice(0, 4);
    entries.forEach((e, i) => {
      rb.push(rec(0, i, e));
    });
    for (let i = 0; i < entries.length; i++) {
      const back = rb.get(i);
      expect(back?.cursor).toBe(`c${i}`);
      const replayed = back?.entry as CertificateEntry;
      // Not the object pushed: the entry is decoded from its stored encoding on each read.
      expect(replayed).not.toBe(entries[i]);
      for (const format of ["lite", "full", "domains"] as const)
        expect(renderFormat(replayed, format).equals(renderFormat(entries[i], format))).toBe(true);
    }
  });

  it("keeps each chain certificate once, shared by the records that have it, and lets go of it with them", () => {
    const all = realEntries();
    const a = all[0];
    const b = all.find((e) => e.chain.length > 0 && chainKey(e) !== chainKey(a));
    if (!b || a.chain.length === 0)
      throw new Error("fixture changed: two entries with different chains needed");
    const rb = new ReplayBuffer(3);
    for (let i = 0; i < 3; i++) rb.push(rec(0, i, a));
    expect(rb.chainCertificates).toBe(new Set(a.chain.map((c) => c.cert?.sha256)).size);
    // Interned: records of the same chain hand out the very same chain certificate objects.
    expect(rb.get(0)?.entry.chain[0]).toBe(rb.get(2)?.entry.chain[0]);
    for (let i = 3; i < 6; i++) rb.push(rec(0, i, b)); // evicts every record of `a`
    expect(rb.chainCertificates).toBe(new Set(b.chain.map((c) => c.cert?.sha256)).size);
    expect(rb.get(5)?.entry.chain.map((c) => c.cert?.sha256)).toEqual(b.chain.map((c) => c.cert?.sha256));
  });

  it("holds none of the bytes it was given (they may be views into a whole Kafka fetch response)", () => {
    const fetchResponse = Buffer.alloc(1024 * 1024);
    const view = (u: Uint8Array, at: number) => {
      fetchResponse.set(u, at);
      return fetchResponse.subarray(at, at + u.length);
    };
    const inResponse: CertificateEntry = {
      ...entry,
      leaf_der: view(entry.leaf_der, 0),
      chain: entry.chain.map((c, i) => ({ ...c, der: view(c.der, 100_000 * (i + 1)) })),
    };
    const rb = new ReplayBuffer(2);
    rb.push(rec(0, 0, inResponse));
    const back = rb.get(0)?.entry as CertificateEntry;
    expect(back.leaf_der.buffer).not.toBe(fetchResponse.buffer);
    for (const c of back.chain) expect(c.der.buffer).not.toBe(fetchResponse.buffer);
    expect(Buffer.from(back.leaf_der).equals(Buffer.from(entry.leaf_der))).toBe(true);
    // A frame a replay builds is kept with its record (one render per format and transport), none before.
    expect(rb.get(0)?.frames.size).toBe(0);
  });

  it("covers a cursor only while every later record is still held", () => {
    const rb = new ReplayBuffer(4);
    rb.push(rec(0, 10));
    rb.push(rec(1, 5));
    rb.push(rec(0, 11));
    const live = new Map([
      [0, 12],
      [1, 6],
    ]);
    expect(
      rb.covers(
        new Map([
          [0, 10],
          [1, 5],
        ]),
        live,
      ),
    ).toBe(true);
    expect(
      rb.covers(
        new Map([
          [0, 9],
          [1, 5],
        ]),
        live,
      ),
    ).toBe(false); // offset 9 was never seen here
    expect(rb.covers(new Map([[0, 10]]), live)).toBe(false); // partition 1 unknown to the cursor
    rb.push(rec(1, 6));
    rb.push(rec(0, 12)); // evicts (0, 10)
    expect(rb.get(0)).toBeUndefined();
    expect(rb.get(4)?.offset).toBe(12);
    expect(rb.oldestSeq()).toBe(1);
    const live2 = new Map([
      [0, 13],
      [1, 7],
    ]);
    expect(
      rb.covers(
        new Map([
          [0, 10],
          [1, 5],
        ]),
        live2,
      ),
    ).toBe(false);
    expect(
      rb.covers(
        new Map([
          [0, 11],
          [1, 5],
        ]),
        live2,
      ),
    ).toBe(true);
  });
});

describe("readiness without Kafka", () => {
  it("/health is 200 but /health/ready is 503 until the live reader has its partitions", async () => {
    const { StreamerServer } = await import("../src/server.ts");
    const { log } = await import("./harness.ts");
    const server = new StreamerServer({
      settings: streamerSettings({ host: "127.0.0.1", port: 0 }),
      logger: log,
      source: null,
    });
    const port = await server.listen();
    try {
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "not_ready" });
      // a resume cannot be served without Kafka: a WebSocket is refused with a reason, not hung; an SSE
      // stream (EventSource gives up on anything but 200) is told it waits (resume-waits.test.ts)
      const { wsStatus } = await import("./clients.ts");
      expect(await wsStatus(`ws://127.0.0.1:${port}/?since=1700000000`)).toBe(503);
      const res = await fetch(`http://127.0.0.1:${port}/sse?since=1700000000`);
      expect(res.status).toBe(200);
      const reader = res.body?.getReader();
      let text = "";
      while (reader && !text.includes("waiting"))
        text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toContain('"message_type":"waiting","reason":"cannot resume: not connected to Kafka yet"');
      await reader?.cancel();
    } finally {
      await server.shutdown();
    }
  });
});

describe("filter index", () => {
  it("finds exactly the clients whose filter matches, like checking every filter", () => {
    const entries = realEntries().filter((e) => e.leaf !== null);
    const domains = entries.flatMap((e) => e.leaf?.all_domains ?? []);
    const queries: string[] = [];
    for (const d of domains.slice(0, 30)) {
      queries.push(`domain=${d}`);
      const parts = d.replace(/^\*\./, "").split(".");
      if (parts.length > 2) queries.push(`domain=*.${parts.slice(1).join(".")}`);
      queries.push(`domain=*.${parts.at(-1)}&issuer=let's encrypt`);
    }
    queries.push(
      "issuer=google",
      "log=argon",
      "log=xenon",
      "domain=nothing.invalid",
      "domain=*.invalid,*.org",
    );
    const sink: ClientSink = { buffered: () => 0, write: () => {}, frame: (m) => m, close: () => {} };
    const clients = queries.map(
      (qs) =>
        new StreamClient({
          format: "lite",
          transport: "ws",
          ip: "x",
          filter: ClientFilter.fromQuery(q(qs)),
          sink,
          events: { dropped: () => {}, slowDisconnect: () => {} },
          limits: { limitBytes: 1 << 20, maxDropped: 1000, windowMs: 60_000 },
        }),
    );
    const index = new FilterIndex();
    for (const c of clients) index.add(c);
    expect(index.size).toBe(clients.length);
    for (const e of entries) {
      const k = entryKeys(e);
      const got: StreamClient[] = [];
      index.forEachMatch(k, (c) => got.push(c));
      const want = clients.filter((c) => c.filter?.matches(k));
      expect(new Set(got)).toEqual(new Set(want));
      expect(got.length).toBe(want.length); // each matching client once
    }
    for (const c of clients) index.remove(c);
    expect(index.size).toBe(0);
  });
});

describe("batched fan-out", () => {
  const client = (
    sink: MemorySink,
    opts: { transport?: "ws" | "sse"; filter?: ClientFilter | null; limitBytes?: number } = {},
  ) =>
    new StreamClient({
      format: "lite",
      transport: opts.transport ?? "ws",
      ip: "x",
      filter: opts.filter ?? null,
      sink,
      events: { dropped: () => {}, slowDisconnect: () => {} },
      limits: { limitBytes: opts.limitBytes ?? 1 << 24, maxDropped: 1e9, windowMs: 60_000 },
    });
  const wsIndexes = (sink: MemorySink): number[] => {
    const out: number[] = [];
    const read = frameReader((_op, payload) => out.push(JSON.parse(payload.toString()).data.cert_index));
    for (const w of sink.written) read(w);
    return out;
  };
  const entries = realEntries();
  const RECORDS = 20;
  const publishAll = (fanout: Fanout) => {
    for (let i = 0; i < RECORDS; i++) fanout.publish({ ...entries[i % entries.length], index: i }, 0, i);
    fanout.flush();
  };
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it("consecutive records reach a plain client in one write; filtered and resuming clients get theirs in order", () => {
    const fanout = new Fanout({ delivered: () => {}, renderFailed: () => {} });
    const plain = new MemorySink();
    const filtered = new MemorySink();
    const resuming = new MemorySink();
    const sse = new MemorySink();
    const domain = entries[3].leaf?.all_domains[0] as string;
    fanout.add(client(plain));
    fanout.add(client(filtered, { filter: ClientFilter.fromQuery(new URLSearchParams({ domain })) }));
    const r = client(resuming);
    r.minOffsets = new Map([[0, 5]]); // the resume reader delivered offsets 0-4
    fanout.add(r);
    fanout.add(client(sse, { transport: "sse" }));
    publishAll(fanout);

    expect(plain.written.length).toBe(1);
    expect(wsIndexes(plain)).toEqual(range(0, RECORDS));
    const expectFiltered = range(0, RECORDS).filter((i) =>
      entries[i % entries.length].leaf?.all_domains.some((d) => d.toLowerCase() === domain.toLowerCase()),
    );
    expect(expectFiltered.length).toBeGreaterThan(0);
    expect(wsIndexes(filtered)).toEqual(expectFiltered);
    expect(wsIndexes(resuming)).toEqual(range(5, RECORDS));
    expect(sse.written.length).toBe(1);
    const ids = [...sse.written[0].toString().matchAll(/^id: (\S+)$/gm)].map((m) =>
      decodeCursor(m[1]).get(0),
    );
    expect(ids).toEqual(range(1, RECORDS + 1)); // each event's id: the position after it
  });

  it("a joined batch that does not fit is dropped whole, and the gap starts before its first record", () => {
    const fanout = new Fanout({ delivered: () => {}, renderFailed: () => {} });
    const full = new MemorySink();
    full.queued = 990_000; // what the client has not read yet
    const c = client(full, { limitBytes: 1_000_000 });
    fanout.add(c);
    publishAll(fanout);
    expect(c.droppedTotal).toBe(RECORDS);
    expect(decodeCursor(c.gapCursor as string).get(0)).toBe(0);
  });

  it("a batch larger than half a small send buffer goes record by record, so only what does not fit is dropped", () => {
    const fanout = new Fanout({ delivered: () => {}, renderFailed: () => {} });
    const small = new MemorySink();
    const frame = wsTextFrame(renderFormat({ ...entries[0], index: 0 }, "lite"));
    const c = client(small, { limitBytes: frame.length * 3 + 10 });
    fanout.add(c);
    publishAll(fanout);
    const got = wsIndexes(small);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(range(0, got.length));
    expect(c.droppedTotal).toBe(RECORDS - got.length);
    expect(decodeCursor(c.gapCursor as string).get(0)).toBe(got.length);
  });
});
