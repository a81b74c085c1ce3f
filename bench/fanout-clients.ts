// Client side of bench/fanout.bench.ts (its own process, so client work does not count as server CPU):
// opens N raw WebSocket connections, counts bytes on every one, and on every `sampleEvery`-th connection
// parses the frames to measure delivery latency (now - the message's `seen`, set by the server at publish).
// Talks to the parent over IPC: "ready" when all are connected, then "report" on request.
import { request } from "node:http";
import type { Socket } from "node:net";
import { frameReader } from "../test/ws-frames.ts";

const [url, nArg, sampleArg] = process.argv.slice(2);
const n = Number(nArg);
const sampleEvery = Number(sampleArg);
const target = new URL(url);

let bytes = 0;
let frames = 0;
let latencies: number[] = [];
const sockets: Socket[] = [];

function sampled(socket: Socket): void {
  const read = frameReader((opcode, payload) => {
    if (opcode !== 1) return;
    frames++;
    const i = payload.indexOf('"seen":');
    if (i >= 0) {
      const end = payload.indexOf(",", i);
      const seen = Number(payload.subarray(i + 7, end).toString("latin1"));
      latencies.push(Date.now() - seen * 1000);
    }
  });
  socket.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    read(chunk);
  });
}

function connect(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from(`bench-client-${i}`.padEnd(16, "x").slice(0, 16)).toString("base64"),
      },
    });
    req.on("upgrade", (_res, socket: Socket) => {
      sockets.push(socket);
      if (i % sampleEvery === 0) sampled(socket);
      else
        socket.on("data", (c: Buffer) => {
          bytes += c.length;
        });
      socket.on("error", () => {});
      resolve();
    });
    req.on("response", (res) => reject(new Error(`HTTP ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
}

for (let i = 0; i < n; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => connect(i + j)));
}
process.send?.({ type: "ready" });
process.on("message", (m: { type: string }) => {
  if (m.type === "reset") {
    bytes = 0;
    frames = 0;
    latencies = [];
  } else if (m.type === "report") {
    process.send?.({ type: "report", bytes, frames, latencies });
  } else if (m.type === "exit") {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
