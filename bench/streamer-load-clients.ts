// Many WebSocket clients in a process of their own (so their work is not the streamer's): opens N raw
// connections to a URL and reads everything, counting text frames and how each connection ended (the close
// code received, 1006 when it ended without a close frame). Talks to its parent over IPC: "ready" once all are
// connected, then answers {type:"stats"} with {frames, open, closes}; {type:"exit"} closes them and exits.
// Usage: node bench/streamer-load-clients.ts <ws url> <n> [reads per second per client in bytes, default unlimited]
import { request } from "node:http";
import type { Socket } from "node:net";
import { frameReader } from "../test/ws-frames.ts";

const [url, nArg, rateArg] = process.argv.slice(2);
const n = Number(nArg);
const bytesPerSecond = rateArg ? Number(rateArg) : Number.POSITIVE_INFINITY;
const target = new URL(url);
let frames = 0;
let open = 0;
const closes: Record<string, number> = {};
const sockets: Socket[] = [];

function track(socket: Socket): void {
  let closeCode = 1006;
  const onData = frameReader((opcode, payload) => {
    if (opcode === 1) frames++;
    else if (opcode === 8 && closeCode === 1006) {
      closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
    }
  });
  if (bytesPerSecond === Number.POSITIVE_INFINITY) socket.on("data", onData);
  else {
    socket.pause();
    const timer = setInterval(() => {
      let budget = bytesPerSecond / 20;
      while (budget > 0 && socket.readableLength > 0) {
        const chunk = socket.read(Math.min(budget, socket.readableLength)) as Buffer | null;
        if (chunk === null) break;
        budget -= chunk.length;
        onData(chunk);
      }
      if (socket.readableLength === 0) socket.read(0);
    }, 50);
    socket.on("close", () => clearInterval(timer));
  }
  socket.on("error", () => {});
  socket.on("close", () => {
    open--;
    closes[closeCode] = (closes[closeCode] ?? 0) + 1;
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
        "Sec-WebSocket-Key": Buffer.from(`load-client-${i}`.padEnd(16, "x").slice(0, 16)).toString("base64"),
      },
    });
    req.on("upgrade", (_res, socket: Socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      sockets.push(socket);
      open++;
      track(socket);
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
  if (m.type === "stats") process.send?.({ type: "stats", frames, open, closes });
  else if (m.type === "exit") {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
