// Memory footprint of a real streamer process (node services/streamer/src/main.ts, launched as the stack
// launches it) with certificates flowing through Kafka, at several counts of idle WebSocket clients and after
// they have left. Prints, per step: RSS (peak and median over the step's measured half, then at its end with
// its anonymous / file-backed parts; compare medians: one reading varies by ±5 MB between runs), V8 heap total
// and used, external, arrayBuffers, before and after a forced full GC (a probe loaded with --import answers
// SIGUSR2), and the largest V8 heap spaces. Asserts nothing.
//
// Needs the stack (bash scripts/stack.sh up; eval "$(bash scripts/stack.sh env)"). Run:
//   node bench/streamer-footprint.bench.ts
// Env: FOOTPRINT_CLIENTS   client counts, stepped up in order (default "0,1000"; e.g. "0,1000,10000")
//      FOOTPRINT_RATE      certificates per second produced to the certs topic (default 100; 0: none)
//      FOOTPRINT_SETTLE_S  seconds at each step before sampling (default 30; the first step waits until the
//                          replay buffer is full as well)
//      FOOTPRINT_PATHS     client paths with their share in percent (default "/:45,/domains-only:45,/full-stream:10":
//                          most certstream clients take lite or domains; a full-stream client gets ~8 kB a certificate)
//      FOOTPRINT_YAML      extra streamer config lines (e.g. "streamer:\n  replay_buffer_size: 5000")
//      FOOTPRINT_NODE_OPTIONS, MALLOC_ARENA_MAX  the streamer's (default: what scripts/up.sh starts it with; "" = none)
//      FOOTPRINT_MALLOC    glibc tunables for the streamer, over up.sh's (e.g. "MALLOC_MMAP_THRESHOLD_=32768 MALLOC_TOP_PAD_=0")
//      FOOTPRINT_V8_FLAGS  V8 flags the probe sets at start-up (v8.setFlagsFromString), for trying ones NODE_OPTIONS refuses
//      FOOTPRINT_SNAPSHOT_DIR  also write a heap snapshot there at each step (slow; for investigation)
// Clients run in child processes (this file with --clients), so their memory and CPU are not the streamer's;
// they read and discard everything and answer pings (the streamer terminates a client that does not).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertsTopic, realEntries } from "../services/streamer/test/harness.ts";
import { ServiceProcess, waitForHttp } from "../test/service-process.ts";
import { kafkaBrokers, registryUrl, repoRoot } from "../test/stack.ts";
import { frameHeader, pongFrame } from "../test/ws-frames.ts";
import { streamerLaunch } from "./streamer-launch.ts";

// A child process of this bench (see addClients) runs only the clients.
if (process.argv[2] === "--clients") await runClients(process.argv[3], Number(process.argv[4]));

const STEPS = (process.env.FOOTPRINT_CLIENTS ?? "0,1000").split(",").map(Number);
const RATE = Number(process.env.FOOTPRINT_RATE ?? 100);
const SETTLE_MS = Number(process.env.FOOTPRINT_SETTLE_S ?? 30) * 1000;
const PATHS = (process.env.FOOTPRINT_PATHS ?? "/:45,/domains-only:45,/full-stream:10").split(",").map((p) => {
  const [path, share] = p.split(":");
  return { path, share: Number(share ?? 100 / p.split(",").length) };
});
const SHARES = PATHS.reduce((a, p) => a + p.share, 0);
const EXTRA_YAML = (process.env.FOOTPRINT_YAML ?? "").replaceAll("\\n", "\n");
const SNAPSHOT_DIR = process.env.FOOTPRINT_SNAPSHOT_DIR ?? "";
const MiB = 1024 * 1024;

/** Loaded into the streamer with --import: on SIGUSR2 prints its memory, forces a full GC, prints it again. */
const PROBE = `
import v8 from "node:v8";
import vm from "node:vm";
v8.setFlagsFromString("--expose-gc");
if (process.env.FOOTPRINT_V8_FLAGS) v8.setFlagsFromString(process.env.FOOTPRINT_V8_FLAGS);
const gc = vm.runInNewContext("gc");
process.on("SIGUSR2", () => {
  const before = process.memoryUsage();
  gc(); gc();
  const after = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size, s.space_size]);
  let snapshot = null;
  if (process.env.FOOTPRINT_SNAPSHOT_DIR)
    snapshot = v8.writeHeapSnapshot(process.env.FOOTPRINT_SNAPSHOT_DIR + "/streamer-" + Date.now() + ".heapsnapshot");
  process.stdout.write("FOOTPRINT " + JSON.stringify({ before, after, spaces, snapshot }) + "\\n");
});
`;

interface Probe {
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  spaces: [string, number, number][];
  snapshot: string | null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** utime + stime of the process, in seconds (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function procStatus(pid: number): { rss: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") + kb("RssShmem") };
}

// --- the stream: real entries, each with its own index, produced at RATE per second -------------------------
const topic = await CertsTopic.create(6);
const real = realEntries();
let produced = 0;
let producing = true;
const producer = (async () => {
  const perTick = Math.max(1, Math.round(RATE / 10));
  let next = Date.now();
  while (producing && RATE > 0) {
    const batch = Array.from({ length: perTick }, (_, i) => ({
      ...real[(produced + i) % real.length],
      index: 3_000_000_000 + produced + i,
      seen: Date.now() * 1000,
    }));
    await topic.produce(batch);
    produced += perTick;
    next += 100;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
})();

// --- the streamer, as its own process ------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "streamer-footprint-"));
const probePath = join(dir, "probe.mjs");
writeFileSync(probePath, PROBE);
const port = await freePort();
const configPath = join(dir, "config.yaml");
writeFileSync(
  configPath,
  `host: 127.0.0.1\nport: ${port}\nlog_level: warn\nconnection_limit:\n  enabled: false\nkafka:\n  brokers: [${kafkaBrokers().join(", ")}]\n  schema_registry_url: ${registryUrl()}\n  topics:\n    certs: ${topic.topic}\n${EXTRA_YAML}\n`,
);
const launch = streamerLaunch(repoRoot, { nodeOptions: process.env.FOOTPRINT_NODE_OPTIONS });
launch.warm(configPath);
const mallocArenaMax = process.env.MALLOC_ARENA_MAX ?? launch.env.MALLOC_ARENA_MAX ?? "";
const nodeOptions = `${launch.env.NODE_OPTIONS ?? ""} --import ${probePath}`.trim();
const streamer = new ServiceProcess("streamer", ["--config", configPath], join(dir, "streamer.log")).start({
  ...launch.env,
  NODE_OPTIONS: nodeOptions,
  ...(mallocArenaMax === "" ? {} : { MALLOC_ARENA_MAX: mallocArenaMax }),
  ...Object.fromEntries(
    (process.env.FOOTPRINT_MALLOC ?? "")
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => kv.split("=")),
  ),
  FOOTPRINT_SNAPSHOT_DIR: SNAPSHOT_DIR,
  FOOTPRINT_V8_FLAGS: process.env.FOOTPRINT_V8_FLAGS ?? "",
});
const url = `http://127.0.0.1:${port}`;
await waitForHttp(`${url}/health/ready`, streamer);
const pid = streamer.pid as number;

async function probe(): Promise<Probe> {
  const line = streamer.waitForStdout(/FOOTPRINT (\{.*\})\n/);
  streamer.signal("SIGUSR2");
  return JSON.parse((await line)[1]) as Probe;
}

async function stats(): Promise<{ total_clients: number; certificates_total: number }> {
  const res = await fetch(`${url}/api/stats`);
  return (await res.json()) as { total_clients: number; certificates_total: number };
}

// --- idle clients ----------------------------------------------------------------------------------------------
const clientProcs: ChildProcess[] = [];

/** Opens `n` more WebSocket clients spread over PATHS, each child process holding its share; they read and discard. */
async function addClients(n: number): Promise<void> {
  let left = n;
  const ready: Promise<void>[] = [];
  for (const { path, share } of PATHS) {
    const k = Math.min(Math.ceil((n * share) / SHARES), left);
    left -= k;
    if (k === 0) continue;
    const child = spawn(
      process.execPath,
      [new URL(import.meta.url).pathname, "--clients", `ws://127.0.0.1:${port}${path}`, String(k)],
      { stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    clientProcs.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.on("message", (m: { type: string }) => m.type === "ready" && resolve());
        child.on("exit", (code) => reject(new Error(`client process exited ${code}`)));
      }),
    );
  }
  await Promise.all(ready);
}

/** Closes every client; returns how many of them the streamer had closed before. */
async function dropClients(): Promise<number> {
  let closedByServer = 0;
  const exits = clientProcs.map(
    (c) =>
      new Promise<void>((resolve) => {
        c.on("message", (m: { type: string; closed: number }) => {
          if (m.type === "report") closedByServer += m.closed;
        });
        c.once("exit", () => resolve());
      }),
  );
  for (const c of clientProcs) c.send({ type: "exit" });
  await Promise.all(exits);
  clientProcs.length = 0;
  return closedByServer;
}

// --- the steps -------------------------------------------------------------------------------------------------
const mib = (n: number) => (n / MiB).toFixed(1).padStart(7);
const rows: string[] = [];
console.log(
  `streamer pid ${pid}, NODE_OPTIONS "${launch.env.NODE_OPTIONS ?? ""}", MALLOC_ARENA_MAX ${mallocArenaMax || "unset"}, compile cache ${launch.env.NODE_COMPILE_CACHE ?? "none"}, ${RATE} certificates/s over 6 partitions, clients on ${PATHS.map((p) => `${p.path} ${Math.round((100 * p.share) / SHARES)}%`).join(", ")}${EXTRA_YAML ? `, config: ${EXTRA_YAML.replaceAll("\n", " ")}` : ""}`,
);
console.log(
  "step              clients | cpu% | peak  median   rss   (anon   file) | heapTot heapUsed external arrayBuf | after full GC: rss heapTot heapUsed external arrayBuf | heap spaces after GC (used/size MiB)",
);

let cpuMark = { at: Date.now(), cpu: 0 };
/** Highest RSS seen (sampled every 500 ms) since the last sample. */
let peakRss = 0;
/** RSS every 500 ms over the measured half of the settle window. */
let rssWindow: number[] = [];
const peakTimer = setInterval(() => {
  const rss = procStatus(pid).rss;
  peakRss = Math.max(peakRss, rss);
  rssWindow.push(rss);
}, 500);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

/** Share of one core the streamer used since the last mark (the settle window: clients connected, stream on). */
function cpuSinceMark(): number {
  rssWindow = [];
  const now = Date.now();
  const cpu = cpuSeconds(pid);
  const pct = ((cpu - cpuMark.cpu) * 100_000) / Math.max(1, now - cpuMark.at);
  cpuMark = { at: now, cpu };
  return pct;
}

async function sample(label: string): Promise<void> {
  const typical = median(rssWindow);
  const cpu = cpuSinceMark();
  const st = await stats();
  const ps = procStatus(pid);
  const peak = Math.max(peakRss, ps.rss);
  peakRss = 0;
  const p = await probe();
  const spaces = p.spaces
    .filter((s) => s[2] > MiB)
    .sort((a, b) => b[2] - a[2])
    .map((s) => `${s[0].replace("_space", "")} ${(s[1] / MiB).toFixed(1)}/${(s[2] / MiB).toFixed(1)}`)
    .join(", ");
  const b = p.before;
  const a = p.after;
  const row = `${label.padEnd(17)} ${String(st.total_clients).padStart(7)} | ${cpu.toFixed(0).padStart(4)} | ${mib(peak)} ${mib(typical)} ${mib(ps.rss)} (${mib(ps.anon)}${mib(ps.file)}) | ${mib(b.heapTotal)}${mib(b.heapUsed)}${mib(b.external)}${mib(b.arrayBuffers)} |               ${mib(a.rss)}${mib(a.heapTotal)}${mib(a.heapUsed)}${mib(a.external)}${mib(a.arrayBuffers)} | ${spaces}${p.snapshot ? ` (snapshot ${p.snapshot})` : ""}`;
  rows.push(row);
  console.log(row);
}

let current = 0;
// The first wait also fills the replay buffer (streamer.replay_buffer_size, default 2000 records).
await new Promise((r) => setTimeout(r, SETTLE_MS));
for (const n of STEPS) {
  if (n > current) await addClients(n - current);
  current = Math.max(current, n);
  await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
  cpuSinceMark();
  await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
  await sample(`with clients`);
}
const closedByServer = await dropClients();
await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
cpuSinceMark();
await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
await sample("clients left");
const st = await stats();
console.log(
  `certificates produced ${produced}, published by the streamer ${st.certificates_total}; clients the streamer closed: ${closedByServer}`,
);

producing = false;
clearInterval(peakTimer);
await producer;
await streamer.stop();
await topic.close();
process.exit(0);

// --- the client processes ----------------------------------------------------------------------------------------

/** A masked client pong (RFC 6455 §5.5.3) carrying the ping's payload; the mask key is zero. */
/** Reads a server's frames, skipping data payloads and answering pings. */
function readFrames(socket: Socket): void {
  let skip = 0;
  let carry: Buffer | null = null;
  socket.on("data", (chunk: Buffer) => {
    let off = 0;
    let buf = chunk;
    if (skip > 0) {
      const n = Math.min(skip, buf.length);
      skip -= n;
      off = n;
    } else if (carry !== null) {
      buf = Buffer.concat([carry, chunk]);
      carry = null;
    }
    while (skip === 0 && buf.length - off >= 2) {
      const op = buf[off] & 0x0f;
      const h = frameHeader(buf, off, buf.length);
      if (h === null) break;
      const { len } = h;
      const head = h.start - off;
      if (op >= 8) {
        // control frame: read it whole
        if (buf.length - off < head + len) break;
        if (op === 9) socket.write(pongFrame(buf.subarray(off + head, off + head + len)));
        off += head + len;
        continue;
      }
      const have = Math.min(len, buf.length - off - head);
      off += head + have;
      skip = len - have;
    }
    if (skip === 0 && off < buf.length) carry = Buffer.from(buf.subarray(off));
  });
}

async function runClients(url: string, n: number): Promise<never> {
  const target = new URL(url);
  const sockets: Socket[] = [];
  let closed = 0;
  const connect = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request({
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers: {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": Buffer.from(`footprint-${i}`.padEnd(16, "x").slice(0, 16)).toString("base64"),
        },
      });
      req.on("upgrade", (_res, socket: Socket) => {
        sockets.push(socket);
        readFrames(socket);
        socket.on("close", () => closed++);
        socket.on("error", () => {});
        resolve();
      });
      req.on("response", (res) => reject(new Error(`HTTP ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
  for (let i = 0; i < n; i += 200)
    await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => connect(i + j)));
  process.send?.({ type: "ready" });
  process.on("message", (m: { type: string }) => {
    if (m.type !== "exit") return;
    process.send?.({ type: "report", closed }, () => {
      for (const s of sockets) s.destroy();
      process.exit(0);
    });
  });
  return new Promise<never>(() => {});
}
