/**
 * Request cases for test/request-fuzz.test.ts, each built from its own seeded generator: case `i` of seed `s`
 * is the same bytes on every machine and at any concurrency, so a failure is replayed with FUZZ_SEED alone.
 * What the services are sent: request targets, methods, headers and bodies (HTTP/1.1 as bytes, valid or not),
 * every query parameter of the streamer with odd values, WebSocket upgrade variants, and WebSocket frames of
 * every kind after a valid upgrade.
 */
import { encodeCursor } from "../services/streamer/src/cursor.ts";
import { wsFrame } from "./raw-http.ts";
import type { HttpService } from "./running-services.ts";

/** sfc32: small, fast, and good enough to pick test inputs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = seed >>> 0;
    this.b = (stream * 0x9e3779b9) >>> 0;
    this.c = 0x243f6a88;
    this.d = 0xb7e15162 ^ stream;
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export type CaseKind = "request" | "query" | "upgrade" | "frames" | "garbage";

export interface FuzzCase {
  index: number;
  kind: CaseKind;
  service: HttpService;
  /** What is sent first (a request, an upgrade, or garbage). */
  request: Buffer;
  /** For "frames": sent after the 101, in order. */
  frames: Buffer[];
  /** Method and path as the server will see them (for the table of documented 5xx answers). */
  method: string;
  path: string;
  /** The request carries a resume point (`since=`, `Last-Event-ID`). */
  resume: boolean;
  /** The request is incomplete on purpose: only a short wait for an answer. */
  partial: boolean;
  /** A short human description for failure messages. */
  label: string;
}

const PATHS: Record<HttpService, readonly string[]> = {
  streamer: [
    "/",
    "/full-stream",
    "/full-stream/",
    "/domains-only",
    "/domains-only/",
    "/sse",
    "/example.json",
    "/latest.json",
    "/api/stats",
    "/health",
    "/health/ready",
    "/metrics",
  ],
  ingester: ["/api/logs", "/health", "/health/ready", "/metrics"],
  "delta-sink": ["/health", "/health/ready", "/metrics"],
};

/** Targets `new URL(target, base)` throws on, absolute and authority forms, dot segments, odd bytes. */
const ODD_TARGETS = [
  "//",
  "///",
  "//a:99999/",
  "//[",
  "//[::1]/",
  "//x/full-stream",
  "//user@host/",
  "*",
  "h:443",
  "http://x/",
  "http://x/full-stream?domain=a.com",
  "ws://h/domains-only",
  "https://[::1]:8080/sse",
  "http://[",
  "file:///etc/passwd",
  "javascript:alert(1)",
  "/%",
  "/%00",
  "/%2e%2e/%2e%2e/",
  "/..%2f..%2f",
  "/./full-stream",
  "/full-stream/../",
  "/full-stream/..",
  "/#frag",
  "/full-stream#x?y",
  "/\\",
  "/HEALTH",
  "/health/",
  "/metrics/..",
  "/api/logs/%ff",
  "/__proto__",
  "/constructor",
  "/sse/",
  "/sse/x",
  "?",
  "/?",
  "/??",
  "/?&&&",
  "/?=&=",
  "",
];

const METHODS = [
  "GET",
  "GET",
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "TRACE",
  "PROPFIND",
];
const ODD_METHODS = ["CONNECT", "get", "G3T", "GET ", "M-SEARCH", "X".repeat(300), "PRI"];
const VERSIONS = [
  "HTTP/1.1",
  "HTTP/1.1",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/2.0",
  "HTTP/0.9",
  "HTTP/1.1x",
  "http/1.1",
  "",
];

const DATE_SINCE = [
  "2026-01-01T00:00:00Z",
  "2026-13-45",
  "1970-01-01",
  "+275760-09-13T00:00:00.000Z",
  "2026-05-20",
];

/** A value for any query parameter: empty, long, broken percent-encoding, lists, wildcards, numbers, keys. */
function oddValue(r: Rng): string {
  switch (r.int(16)) {
    case 0:
      return "";
    case 1:
      return "a".repeat(r.pick([100, 2000, 9000]));
    case 2:
      return r.pick(["%", "%E0%A4%A", "%00", "%ZZ", "%FF%FE", "%C0%AF", "%u0041"]);
    case 3:
      return r.pick([",", ",,,", "a,,b", `${"x.com,".repeat(200)}`]);
    case 4:
      return r.pick(["*", "*.", "*.*", "*.example.com", "**.com", ".", "..", "*.com,*.org"]);
    case 5:
      return r.pick(["ü.example", "xn--mnchen-3ya.de", "%F0%9F%92%A9.com", "ＥＸＡＭＰＬＥ.com"]);
    case 6:
      return r.pick(["0", "-1", "1e309", "NaN", "Infinity", "-Infinity", "9007199254740993", "0x10", "1.5"]);
    case 7:
      return r.pick(DATE_SINCE);
    case 8:
      return r.pick(["__proto__", "constructor", "toString", "hasOwnProperty", "prototype"]);
    case 9:
      return r.bytes(r.int(40)).toString("base64url");
    case 10:
      return Buffer.from(
        `c1:${r.pick(["", "0.1", "0.x", "99999.1", "0.99999999999999999", "a_b"])}`,
      ).toString("base64url");
    case 11:
      return encodeURIComponent(r.bytes(r.int(30)).toString("latin1"));
    case 12:
      return r.pick([
        "let's encrypt",
        "Let%27s%20Encrypt",
        "google",
        "argon2026h2",
        "DleUvPOuqT4zGyyZB7P3kN+bwj1xMiXdIaklrGHFTiE=",
      ]);
    case 13:
      return r.pick(["lite", "full", "domains", "domains-only", "domains_only", "LITE", " full"]);
    case 14:
      return "a+b%20c&d=e";
    default:
      return String(r.int(1 << 30));
  }
}

const PARAMS = ["stream", "domain", "issuer", "log", "since", "token"] as const;

/**
 * A query string: each parameter of the streamer with odd values (sometimes repeated, sometimes as a bare key),
 * plus unknown keys. A resume point that is valid (a cursor, a recent time) is rare on purpose: each may start a
 * Kafka reader, and the broker is shared.
 */
function query(r: Rng): { text: string; resume: boolean } {
  const parts: string[] = [];
  let resume = false;
  for (const p of PARAMS) {
    if (!r.chance(p === "since" ? 0.25 : 0.4)) continue;
    const n = r.chance(0.1) ? 1 + r.int(4) : 1;
    for (let i = 0; i < n; i++) {
      if (r.chance(0.05)) {
        parts.push(p);
        continue;
      }
      let v = oddValue(r);
      if (p === "since" && r.chance(0.02)) {
        // valid, and ahead of the stream (year 2100, offset 1e12): no old Kafka read
        v = r.chance(0.5) ? "4102444800" : encodeCursor(new Map([[0, 1e12]]));
      }
      if (p === "since") resume = true;
      parts.push(`${p}=${r.chance(0.8) ? encodeURIComponent(v) : v}`);
    }
  }
  if (r.chance(0.1)) parts.push(`${oddValue(r).slice(0, 30)}=${oddValue(r).slice(0, 30)}`);
  if (r.chance(0.02)) for (let i = 0; i < 500; i++) parts.push(`domain=d${i}.com`);
  return { text: parts.join(r.chance(0.95) ? "&" : ";"), resume };
}

/** Extra header lines, valid or not. */
function headers(r: Rng): { lines: string[]; resume: boolean } {
  const lines: string[] = [];
  let resume = false;
  const n = r.int(4);
  for (let i = 0; i < n; i++) {
    switch (r.int(14)) {
      case 0:
        lines.push(
          `X-Forwarded-For: ${r.pick(["1.2.3.4", "::1", "garbage", "1.2.3.4, 5.6.7.8, ::ffff:1.2.3.4", ",,,", "999.999.999.999", "1.2.3.4".repeat(300)])}`,
        );
        break;
      case 1:
        lines.push(
          `Authorization: ${r.pick(["Bearer", "Bearer ", "Bearer x", "Basic Zm9vOmJhcg==", "x".repeat(5000)])}`,
        );
        break;
      case 2:
        lines.push(`Last-Event-ID: ${oddValue(r)}`);
        resume = true;
        break;
      case 3:
        lines.push(`Content-Length: ${r.pick(["-1", "abc", "99999999999999999999", "10", "0", "1, 2"])}`);
        break;
      case 4:
        lines.push(
          `Transfer-Encoding: ${r.pick(["chunked", "gzip, chunked", "identity", "chunked, chunked", "xchunked"])}`,
        );
        break;
      case 5:
        lines.push(r.pick(["Host:", "Host: a", "Host: [::1", "Host: x:99999", "Host: a b"]));
        break;
      case 6:
        lines.push(r.pick(["Expect: 100-continue", "Expect: nonsense"]));
        break;
      case 7:
        lines.push(
          r.pick([
            "Bad Header: x",
            "X-Empty:",
            ": novalue",
            "X-Fold: a\r\n b",
            "X-Nul: a\0b",
            "X-Hi: \xff\xfe",
          ]),
        );
        break;
      case 8:
        lines.push(`X-Long: ${"v".repeat(r.pick([1000, 20_000, 70_000]))}`);
        break;
      case 9:
        lines.push(r.pick(["Accept: text/event-stream", "Accept-Encoding: gzip, br", "Cookie: a=b"]));
        break;
      case 10:
        lines.push(r.pick(["Connection: close", "Connection: keep-alive", "Connection: upgrade"]));
        break;
      case 11:
        lines.push(r.pick(["Upgrade: websocket", "Upgrade: h2c", "Upgrade: WebSocket, h2c"]));
        break;
      case 12:
        for (let k = 0; k < r.pick([50, 150]); k++) lines.push(`X-Many-${k}: ${k}`);
        break;
      default:
        lines.push(`X-Api-Key: ${oddValue(r).slice(0, 200)}`);
    }
  }
  return { lines, resume };
}

function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

function target(r: Rng, service: HttpService): { target: string; resume: boolean } {
  if (r.chance(0.25)) return { target: r.pick(ODD_TARGETS), resume: false };
  const path = r.pick(PATHS[service]);
  if (r.chance(0.4)) return { target: path, resume: false };
  const q = query(r);
  return { target: `${path}?${q.text}`, resume: q.resume };
}

function body(r: Rng): string {
  return r.pick([
    "",
    "",
    "x=1",
    "{}",
    '{"a":',
    "0\r\n\r\n",
    "5\r\nhello\r\n0\r\n\r\n",
    "zz\r\nx\r\n",
    "a".repeat(5000),
  ]);
}

function randomService(r: Rng): HttpService {
  const x = r.next();
  return x < 0.6 ? "streamer" : x < 0.8 ? "ingester" : "delta-sink";
}

function requestCase(r: Rng, index: number): FuzzCase {
  const service = randomService(r);
  const method = r.chance(0.9) ? r.pick(METHODS) : r.pick(ODD_METHODS);
  const t = target(r, service);
  const h = headers(r);
  const b = method === "GET" || method === "HEAD" ? (r.chance(0.1) ? body(r) : "") : body(r);
  const lines = [
    `${method} ${t.target} ${r.chance(0.95) ? "HTTP/1.1" : r.pick(VERSIONS)}`,
    "Host: x",
    ...h.lines,
  ];
  if (b && !h.lines.some((l) => /^(content-length|transfer-encoding):/i.test(l)))
    lines.push(`Content-Length: ${Buffer.byteLength(b)}`);
  const partial = r.chance(0.02);
  const text = partial ? `${lines.join("\r\n")}\r\n` : `${lines.join("\r\n")}\r\n\r\n${b}`;
  return {
    index,
    kind: "request",
    service,
    request: Buffer.from(text, "latin1"),
    frames: [],
    method,
    path: pathOf(t.target),
    resume: t.resume || h.resume,
    partial,
    label: `${method} ${t.target.slice(0, 120)} +${h.lines.length} headers${partial ? " (partial)" : ""}`,
  };
}

/** The streamer's data endpoints with every parameter: the query is the point here. */
function queryCase(r: Rng, index: number): FuzzCase {
  const path = r.pick(["/sse", "/sse", "/sse", "/example.json", "/latest.json", "/api/stats"]);
  const q = query(r);
  const h = r.chance(0.3) ? headers(r) : { lines: [], resume: false };
  const t = `${path}?${q.text}`;
  const text = [`GET ${t} HTTP/1.1`, "Host: x", "Accept: text/event-stream", ...h.lines, "", ""].join("\r\n");
  return {
    index,
    kind: "query",
    service: "streamer",
    request: Buffer.from(text, "latin1"),
    frames: [],
    method: "GET",
    path,
    resume: q.resume || h.resume,
    partial: false,
    label: `GET ${t.slice(0, 160)}`,
  };
}

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** Upgrade requests with each part of the handshake missing, doubled or wrong, on any target. */
function upgradeCase(r: Rng, index: number): FuzzCase {
  const service: HttpService = r.chance(0.85) ? "streamer" : r.pick(["ingester", "delta-sink"] as const);
  const t = r.chance(0.5)
    ? target(r, "streamer")
    : { target: r.pick(["/", "/full-stream", "/domains-only/"]), resume: false };
  const method = r.chance(0.9) ? "GET" : r.pick(["POST", "HEAD", "PUT", "OPTIONS"]);
  const want = { upgrade: true, connection: true, key: true, version: true };
  const lines = [`${method} ${t.target} ${r.chance(0.9) ? "HTTP/1.1" : r.pick(VERSIONS)}`, "Host: x"];
  const vary = r.int(10);
  if (vary === 0) want.upgrade = false;
  if (vary === 1) want.connection = false;
  if (vary === 2) want.key = false;
  if (vary === 3) want.version = false;
  if (want.upgrade)
    lines.push(
      `Upgrade: ${r.chance(0.8) ? "websocket" : r.pick(["WebSocket", "h2c", "websocket, h2c", "", "websocket2"])}`,
    );
  if (want.connection)
    lines.push(
      `Connection: ${r.chance(0.8) ? "Upgrade" : r.pick(["keep-alive, Upgrade", "close", "upgrade", "Upgrade, Upgrade"])}`,
    );
  if (want.key)
    lines.push(
      `Sec-WebSocket-Key: ${r.chance(0.8) ? WS_KEY : r.pick(["", "short", "dGhlIHNhbXBsZSBub25jZQ", "x".repeat(1000), WS_KEY + WS_KEY])}`,
    );
  if (want.version)
    lines.push(
      `Sec-WebSocket-Version: ${r.chance(0.8) ? "13" : r.pick(["8", "0", "13, 8", "", "99999999999"])}`,
    );
  if (vary === 4)
    lines.push(
      `Sec-WebSocket-Extensions: ${r.pick(["permessage-deflate; client_max_window_bits=99", "permessage-deflate; =", "x-webkit-deflate-frame", ";;;"])}`,
    );
  if (vary === 5)
    lines.push(`Sec-WebSocket-Protocol: ${r.pick(["", ",", "a, a", "chat", "x".repeat(2000)])}`);
  if (vary === 6) lines.push(`Upgrade: websocket`, `Sec-WebSocket-Key: ${WS_KEY}`);
  if (vary === 7) lines.push(`Origin: ${r.pick(["null", "http://evil", "%%%"])}`);
  const h = r.chance(0.3) ? headers(r) : { lines: [], resume: false };
  lines.push(...h.lines);
  const trailing = r.chance(0.1) ? r.bytes(r.int(64)).toString("latin1") : "";
  return {
    index,
    kind: "upgrade",
    service,
    request: Buffer.from(`${lines.join("\r\n")}\r\n\r\n${trailing}`, "latin1"),
    frames: [],
    method,
    path: pathOf(t.target),
    resume: t.resume || h.resume,
    partial: false,
    label: `upgrade ${method} ${t.target.slice(0, 120)} variant ${vary}${trailing ? " +trailing bytes" : ""}`,
  };
}

const OPCODES = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One frame, valid or broken (reserved opcodes, RSV bits, unmasked, lengths that lie, bad close codes). */
function frame(r: Rng, maxFrame: number): { frame: Buffer; label: string } {
  switch (r.int(16)) {
    case 0:
      return { frame: wsFrame({ opcode: OPCODES.text, payload: Buffer.from("hello") }), label: "text" };
    case 1:
      return {
        frame: wsFrame({ opcode: OPCODES.text, payload: Buffer.from([0xc3, 0x28, 0xff]) }),
        label: "text bad utf-8",
      };
    case 2:
      return { frame: wsFrame({ opcode: OPCODES.binary, payload: r.bytes(r.int(300)) }), label: "binary" };
    case 3:
      return { frame: wsFrame({ opcode: OPCODES.ping, payload: r.bytes(r.int(126)) }), label: "ping" };
    case 4:
      return {
        frame: wsFrame({ opcode: OPCODES.ping, payload: r.bytes(126 + r.int(200)) }),
        label: "ping > 125",
      };
    case 5:
      return { frame: wsFrame({ opcode: OPCODES.pong, payload: r.bytes(r.int(20)) }), label: "pong" };
    case 6: {
      const code = r.pick([1000, 1001, 999, 1004, 1005, 1006, 1015, 2999, 4999, 5000, 65535]);
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      const reason = r.chance(0.3) ? Buffer.from([0xff, 0xfe]) : Buffer.from("bye");
      return {
        frame: wsFrame({ opcode: OPCODES.close, payload: Buffer.concat([payload, reason]) }),
        label: `close ${code}`,
      };
    }
    case 7:
      return { frame: wsFrame({ opcode: OPCODES.close, payload: Buffer.from([3]) }), label: "close 1-byte" };
    case 8:
      return {
        frame: wsFrame({ opcode: OPCODES.continuation, payload: Buffer.from("x") }),
        label: "continuation alone",
      };
    case 9:
      return {
        frame: wsFrame({ opcode: r.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), payload: Buffer.from("r") }),
        label: "reserved opcode",
      };
    case 10:
      return {
        frame: wsFrame({ opcode: OPCODES.text, payload: Buffer.from("r"), rsv: 1 + r.int(7) }),
        label: "rsv bits",
      };
    case 11:
      return {
        frame: wsFrame({ opcode: OPCODES.text, payload: Buffer.from("u"), masked: false }),
        label: "unmasked",
      };
    case 12:
      return {
        frame: wsFrame({
          opcode: OPCODES.binary,
          payload: r.bytes(10),
          declaredLength: r.pick([100, 70_000, 2 ** 40]),
        }),
        label: "length lies",
      };
    case 13:
      return {
        frame: wsFrame({ opcode: OPCODES.binary, payload: Buffer.alloc(maxFrame + r.int(2)) }),
        label: "max frame size",
      };
    case 14:
      return {
        frame: wsFrame({ opcode: OPCODES.ping, payload: Buffer.from("p"), fin: false }),
        label: "fragmented control",
      };
    default:
      return { frame: r.bytes(1 + r.int(40)), label: "random bytes" };
  }
}

/** A valid upgrade (random stream and filters), then frames: a fragmented message, a flood, or a few odd ones. */
function framesCase(r: Rng, index: number, maxFrame: number): FuzzCase {
  const path = r.pick(["/", "/full-stream", "/domains-only", "/domains-only/", "/full-stream/"]);
  const filter = r.pick([
    "",
    "",
    "?domain=*.com",
    "?issuer=let's%20encrypt",
    "?log=argon&domain=a.com,*.org",
  ]);
  const request = Buffer.from(
    [
      `GET ${path}${filter} HTTP/1.1`,
      "Host: x",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${WS_KEY}`,
      "Sec-WebSocket-Version: 13",
      "",
      "",
    ].join("\r\n"),
  );
  const frames: Buffer[] = [];
  const labels: string[] = [];
  const shape = r.int(6);
  if (shape === 0) {
    frames.push(wsFrame({ opcode: OPCODES.text, payload: Buffer.from("part1"), fin: false }));
    frames.push(wsFrame({ opcode: OPCODES.ping, payload: Buffer.from("in between") }));
    frames.push(wsFrame({ opcode: r.pick([0, 1, 2]), payload: Buffer.from("part2"), fin: r.chance(0.7) }));
    labels.push("fragmented message");
  } else if (shape === 1) {
    for (let i = 0; i < 200; i++)
      frames.push(wsFrame({ opcode: OPCODES.text, payload: Buffer.from(`m${i}`) }));
    labels.push("flood of 200");
  } else {
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) {
      const f = frame(r, maxFrame);
      frames.push(f.frame);
      labels.push(f.label);
    }
  }
  if (r.chance(0.2)) {
    // the same bytes split at an odd place, so the parser sees partial headers
    const all = Buffer.concat(frames);
    const cut = 1 + r.int(Math.max(1, all.length - 1));
    frames.splice(0, frames.length, all.subarray(0, cut), all.subarray(cut));
    labels.push("split");
  }
  return {
    index,
    kind: "frames",
    service: "streamer",
    request,
    frames,
    method: "GET",
    path,
    resume: false,
    partial: false,
    label: `ws ${path}${filter}: ${labels.join(", ")}`,
  };
}

/** Bytes that are not HTTP/1.1, or HTTP/1.1 built to confuse a parser. */
function garbageCase(r: Rng, index: number): FuzzCase {
  const service = randomService(r);
  const choices: [string, Buffer][] = [
    ["random bytes", r.bytes(1 + r.int(2000))],
    ["HTTP/2 preface", Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")],
    ["TLS client hello", Buffer.from("16030100a5010000a10303", "hex")],
    [
      "request smuggling",
      Buffer.from(
        "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
      ),
    ],
    [
      "two requests",
      Buffer.from("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET //[ HTTP/1.1\r\nHost: x\r\n\r\n"),
    ],
    ["bare LF", Buffer.from("GET /health HTTP/1.1\nHost: x\n\n")],
    ["no request line", Buffer.from("\r\n\r\n\r\n")],
    ["huge request line", Buffer.from(`GET /${"a".repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)],
    [
      "bad chunk",
      Buffer.from(
        "POST /sse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nx\r\n",
      ),
    ],
    ["NUL in request line", Buffer.from("GET /\0health HTTP/1.1\r\nHost: x\r\n\r\n")],
  ];
  const [label, bytes] = r.pick(choices);
  return {
    index,
    kind: "garbage",
    service,
    request: bytes,
    frames: [],
    method: "",
    path: "",
    resume: false,
    partial: label === "random bytes" || label === "TLS client hello" || label === "bad chunk",
    label,
  };
}

/** Case `index` of `seed`: a request (30%), a streamer query (20%), an upgrade (20%), frames (20%), garbage. */
export function fuzzCase(seed: number, index: number, opts: { maxFrameBytes: number }): FuzzCase {
  const r = new Rng(seed, index + 1);
  const x = r.next();
  if (x < 0.3) return requestCase(r, index);
  if (x < 0.5) return queryCase(r, index);
  if (x < 0.7) return upgradeCase(r, index);
  if (x < 0.9) return framesCase(r, index, opts.maxFrameBytes);
  return garbageCase(r, index);
}
