/**
 * The client side of RFC 6455 framing for raw-socket clients (tests that throttle their reads, load generators that
 * must not spend a WebSocket library's CPU): server frames are unmasked (§5.1); the frames a client sends must be
 * masked, here with the zero key.
 */

/** Where the payload of the frame at `off` lies, or null while its header is incomplete in buf[0, end). */
export function frameHeader(buf: Buffer, off: number, end: number): { start: number; len: number } | null {
  if (end - off < 2) return null;
  const len = buf[off + 1] & 0x7f;
  if (len < 126) return { start: off + 2, len };
  if (len === 126) return end - off < 4 ? null : { start: off + 4, len: buf.readUInt16BE(off + 2) };
  return end - off < 10 ? null : { start: off + 10, len: Number(buf.readBigUInt64BE(off + 2)) };
}

/** A function to feed a socket's chunks to: it calls `onFrame` for every complete frame, in order. */
export function frameReader(onFrame: (opcode: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let off = 0;
    for (;;) {
      const h = frameHeader(buf, off, buf.length);
      if (h === null || buf.length < h.start + h.len) break;
      onFrame(buf[off] & 0x0f, buf.subarray(h.start, h.start + h.len));
      off = h.start + h.len;
    }
    buf = buf.subarray(off);
  };
}

/** The pong answering a ping's payload (at most 125 bytes, as control frames are). */
export function pongFrame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** The close frame answering the server's: the same status code (none when it sent none). */
export function closeReply(payload: Buffer): Buffer {
  const code = payload.subarray(0, 2);
  return Buffer.concat([Buffer.from([0x88, 0x80 | code.length, 0, 0, 0, 0]), code]);
}
