/**
 * Resume cursors. A cursor is the position vector of the stream after a message: for every partition of the
 * certs topic, the next offset not yet delivered. Every message with a lower offset in that partition was
 * delivered before it, so resuming reads each partition from its offset. Offsets are Kafka's, so a cursor is
 * valid on any replica. Clients see an opaque base64url string ("c1" version prefix inside).
 */

export type Position = Map<number, number>;

export class CursorError extends Error {}

const MAX_PARTITIONS = 4096;

export function encodeCursor(pos: Position): string {
  const parts: string[] = [];
  for (const [p, o] of pos) parts.push(`${p}.${o}`);
  return Buffer.from(`c1:${parts.join("_")}`, "latin1").toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  if (cursor.length > 16 * MAX_PARTITIONS || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw new CursorError("malformed cursor");
  const text = Buffer.from(cursor, "base64url").toString("latin1");
  if (!text.startsWith("c1:")) throw new CursorError("unknown cursor version");
  const pos: Position = new Map();
  const body = text.slice(3);
  if (body === "") return pos;
  for (const pair of body.split("_")) {
    const m = /^(\d{1,5})\.(\d{1,16})$/.exec(pair);
    if (!m) throw new CursorError("malformed cursor");
    pos.set(Number(m[1]), Number(m[2]));
  }
  if (pos.size > MAX_PARTITIONS) throw new CursorError("malformed cursor");
  return pos;
}

/** The cursor of `after` with `partition` set back to `offset`: the position just before that record. */
export function cursorBefore(after: Position, partition: number, offset: number): string {
  const pos = new Map(after);
  pos.set(partition, offset);
  return encodeCursor(pos);
}

/**
 * `since=` on a WebSocket: a cursor, or a timestamp (seconds since the epoch, fractional allowed, or
 * milliseconds when > 1e11, or an ISO-8601 date). Returns which one it is.
 */
export function parseSince(since: string): { cursor: Position } | { timestampMs: number } {
  if (/^\d+(\.\d+)?$/.test(since)) {
    const n = Number(since);
    return { timestampMs: n > 1e11 ? Math.floor(n) : Math.floor(n * 1000) };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(since)) {
    const t = Date.parse(since);
    if (Number.isNaN(t)) throw new CursorError("malformed since timestamp");
    return { timestampMs: t };
  }
  return { cursor: decodeCursor(since) };
}
