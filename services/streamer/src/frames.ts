/**
 * Wire framing done once per message and shared by every client: a complete WebSocket text frame (server
 * frames are unmasked, so the bytes are the same for everyone) and a complete SSE event.
 */

/** A final, unmasked WebSocket text frame carrying `payload` (RFC 6455 §5.2). */
export function wsTextFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(frame, head);
  return frame;
}

/** One SSE event; `id` (a cursor) is omitted for notices that must not move the client's resume point. */
export function sseEvent(payload: Buffer, id: string | null): Buffer {
  const text = payload.toString("utf8");
  // JSON from JSON.stringify has no raw newlines; split anyway so any payload stays one event.
  const data = text.includes("\n") ? text.split("\n").join("\ndata: ") : text;
  return Buffer.from(id === null ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`, "utf8");
}

/** The same SSE event without its `id:` line (a view, no copy): the client's resume point stays where it was. */
export function withoutId(event: Buffer): Buffer {
  return event[0] === 0x69 && event[1] === 0x64 && event[2] === 0x3a
    ? event.subarray(event.indexOf(0x0a) + 1)
    : event;
}
