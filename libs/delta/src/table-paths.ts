import { randomUUID } from "node:crypto";

/** Hive's escaping of partition values in directory names (what Spark and delta-rs do). */
const HIVE_SPECIAL = new Set(['"', "#", "%", "'", "*", "/", ":", "=", "?", "\\", "{", "[", "]", "^"]);

export function escapePartitionValue(value: string): string {
  let out = "";
  for (const c of value) {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || HIVE_SPECIAL.has(c)) {
      out += `%${code.toString(16).toUpperCase().padStart(2, "0")}`;
    } else {
      out += c;
    }
  }
  return out;
}

/** URI-encodes a relative path for an add action (RFC 2396), keeping "/" and the characters Delta paths use. */
export function encodeLogPath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~=!$&'()*+,;:@/]/gu, (c) => encodeURIComponent(c));
}

/** Storage path (not encoded) of a new data file: `<col>=<value>/.../part-00000-<uuid>-c000.zstd.parquet`. */
export function newDataFilePath(partitionValues: [string, string | null][], codec = "zstd"): string {
  const dirs = partitionValues.map(
    ([k, v]) => `${k}=${v === null ? "__HIVE_DEFAULT_PARTITION__" : escapePartitionValue(v)}/`,
  );
  return `${dirs.join("")}part-00000-${randomUUID()}-c000.${codec}.parquet`;
}
