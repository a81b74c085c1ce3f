import { createHash } from "node:crypto";
import { SearchParamError } from "./errors.ts";

/**
 * Where the next page starts: the table version the first page read (later pages read the same snapshot, so
 * pages neither repeat nor skip rows while the sink appends), the data file, and the first row not yet examined.
 * Opaque to clients: base64url JSON, bound to the query that made it.
 */
export interface SearchCursor {
  version: number;
  /** Short hash of queryIdentity(). */
  query: string;
  /** Data file path (as in the Delta log). */
  file: string;
  /** Row (within the file) to continue from. */
  row: number;
}

export function queryHash(identity: string): string {
  return createHash("sha256").update(identity).digest("base64url").slice(0, 12);
}

export function encodeCursor(c: SearchCursor): string {
  return Buffer.from(JSON.stringify([c.version, c.query, c.file, c.row])).toString("base64url");
}

export function decodeCursor(raw: string, identity: string): SearchCursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw new SearchParamError("cursor", "not a cursor this service issued");
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 4 ||
    !Number.isSafeInteger(parts[0]) ||
    typeof parts[1] !== "string" ||
    typeof parts[2] !== "string" ||
    !Number.isSafeInteger(parts[3]) ||
    (parts[3] as number) < 0
  ) {
    throw new SearchParamError("cursor", "not a cursor this service issued");
  }
  const c: SearchCursor = { version: parts[0], query: parts[1], file: parts[2], row: parts[3] };
  if (c.query !== queryHash(identity)) {
    throw new SearchParamError(
      "cursor",
      "belongs to a different query: repeat the query's parameters unchanged with its cursor",
    );
  }
  return c;
}
