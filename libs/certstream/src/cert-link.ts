import type { LogSource } from "@certstream/schema";

// c2sp.org/tlog-tiles: tile index N as 3-digit path elements, all but the last prefixed "x" (1234067 → x001/x234/067).
function tileIndexPath(n: number): string {
  let s = String(n % 1000).padStart(3, "0");
  let rest = Math.floor(n / 1000);
  while (rest > 0) {
    s = `x${String(rest % 1000).padStart(3, "0")}/${s}`;
    rest = Math.floor(rest / 1000);
  }
  return s;
}

/**
 * Where a client can fetch the entry.
 * rfc6962: `<log url>ct/v1/get-entries?start=N&end=N` (as every certstream server does).
 * static (static-ct-api has no per-entry endpoint): the full data tile that holds entry N,
 * `<monitoring prefix>tile/data/<tile index path>` with tile index floor(N / 256); the entry is at position
 * N mod 256 in it. The full tile is permanent once the tree has grown past it (partial tiles are not).
 */
export function certLink(log: LogSource, index: number): string {
  if (log.kind === "static") return `${log.url}tile/data/${tileIndexPath(Math.floor(index / 256))}`;
  return `${log.url}ct/v1/get-entries?start=${index}&end=${index}`;
}
