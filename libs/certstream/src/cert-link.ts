import { tilePath } from "@certstream/ct/tile-path";
import type { LogSource } from "@certstream/schema";

/**
 * Where a client can fetch the entry.
 * rfc6962: `<log url>ct/v1/get-entries?start=N&end=N` (as every certstream server does).
 * static (static-ct-api has no per-entry endpoint): the full data tile that holds entry N,
 * `<monitoring prefix>tile/data/<tile index path>` with tile index floor(N / 256); the entry is at position
 * N mod 256 in it. The full tile is permanent once the tree has grown past it (partial tiles are not).
 */
export function certLink(log: LogSource, index: number): string {
  if (log.kind === "static") return `${log.url}${tilePath("data", Math.floor(index / 256))}`;
  return `${log.url}ct/v1/get-entries?start=${index}&end=${index}`;
}
