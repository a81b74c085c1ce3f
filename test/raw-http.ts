/**
 * HTTP/1.1 over a plain TCP socket, byte for byte as given: for requests no HTTP client would send (request
 * targets like `//[`, bad header lines, upgrades with missing keys) and for WebSocket frames after an upgrade.
 */
import { connect, type Socket } from "node:net";

export interface RawAnswer {
  /** Status code of the first response line; null when the server closed or timed out without one. */
  status: number | null;
  /** Everything received (capped at `maxBytes`). */
  received: Buffer;
  /** The server closed the connection (as opposed to our timeout ending the wait). */
  closedByServer: boolean;
}

export interface RawOptions {
  host?: string;
  /** Give up waiting for more after this long (the answer is what arrived). Default 2000 ms. */
  timeoutMs?: number;
  /** Stop reading once this much arrived. Default 64 KiB. */
  maxBytes?: number;
  /** Return as soon as a complete response head (`\r\n\r\n`) arrived. Default true. */
  untilHead?: boolean;
}

/** Parses `HTTP/1.x NNN` at the start of `received`. */
export function statusOf(received: Buffer): number | null {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(received.subarray(0, 16).toString("latin1"));
  return m ? Number(m[1]) : null;
}

/** Sends `request` on a new connection and collects the answer. */
export function rawRequest(
  port: number,
  request: Buffer | string,
  opts: RawOptions = {},
): Promise<RawAnswer> {
  const maxBytes = opts.maxBytes ?? 64 * 1024;
  const untilHead = opts.untilHead ?? true;
  return new Promise((resolve) => {
    const socket = connect(port, opts.host ?? "127.0.0.1");
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      resolve({ status: statusOf(received), received, closedByServer });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 2000);
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size >= maxBytes) finish(false);
      else if (untilHead && Buffer.concat(chunks).includes("\r\n\r\n")) finish(false);
    });
    socket.write(request);
  });
}

/** A WebSocket upgrade request for `target` (RFC 6455 §4.1), with extra header lines. */
export function upgradeRequest(target: string, extraHeaders: string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    "Host: x",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extraHeaders,
    "",
    "",
  ].join("\r\n");
}

/** A socket after a successful upgrade (101 read), for writing raw frames; rejects on any other answer. */
export function openWebSocket(port: number, target = "/", host = "127.0.0.1"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const status = statusOf(head);
      if (status !== 101) {
        socket.destroy();
        reject(new Error(`upgrade to ${target} answered ${status}: ${head.toString("latin1", 0, 200)}`));
        return;
      }
      // Frames that followed the head in the same chunk are of no interest to callers.
      resolve(socket);
    };
    socket.on("data", onData);
    socket.on("error", reject);
    socket.write(upgradeRequest(target));
  });
}

/**
 * One client-to-server WebSocket frame (RFC 6455 §5.2), masked as clients must, with any opcode, flag bits
 * and declared length (`declaredLength` lets a frame claim more or less than it carries).
 */
export function wsFrame(opts: {
  opcode: number;
  payload: Buffer;
  fin?: boolean;
  rsv?: number;
  masked?: boolean;
  declaredLength?: number;
  mask?: Buffer;
}): Buffer {
  const fin = opts.fin ?? true;
  const masked = opts.masked ?? true;
  const len = opts.declaredLength ?? opts.payload.length;
  const first = (fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opts.opcode & 0x0f);
  let head: Buffer;
  if (len < 126) {
    head = Buffer.from([first, (masked ? 0x80 : 0) | len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = (masked ? 0x80 : 0) | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = (masked ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!masked) return Buffer.concat([head, opts.payload]);
  const mask = opts.mask ?? Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.allocUnsafe(opts.payload.length);
  for (let i = 0; i < body.length; i++) body[i] = opts.payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}
