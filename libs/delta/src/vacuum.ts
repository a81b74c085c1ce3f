import { storagePath } from "./data-reader.ts";
import type { DeltaTable } from "./table.ts";

export interface VacuumOptions {
  /** Files younger than this are kept even when unreferenced (they may belong to a commit in flight). Default 168 h. */
  retentionHours?: number;
  /** List what would be deleted without deleting. */
  dryRun?: boolean;
}

export interface VacuumResult {
  deleted: string[];
  bytes: number;
}

/**
 * Deletes data files no live add references and older than the retention: files of commits that lost a race or
 * whose writer was killed before committing, and files removed (optimize) long enough ago that no reader of a
 * recent version needs them. `_delta_log` and hidden/underscore folders are never touched.
 */
export async function vacuum(table: DeltaTable, options: VacuumOptions = {}): Promise<VacuumResult> {
  const retentionMs = (options.retentionHours ?? 168) * 3600 * 1000;
  const cutoff = Date.now() - retentionMs;
  const snap = await table.refresh();
  const live = new Set(snap.files().map((f) => storagePath(f.path)));
  const result: VacuumResult = { deleted: [], bytes: 0 };
  for (const o of await table.storage.list("", true)) {
    const top = o.path.split("/")[0];
    if (top.startsWith("_") || top.startsWith(".")) continue;
    const name = o.path.slice(o.path.lastIndexOf("/") + 1);
    if (name.startsWith(".") || !name.endsWith(".parquet")) continue;
    if (live.has(o.path) || o.modificationTime >= cutoff) continue;
    result.deleted.push(o.path);
    result.bytes += o.size;
    if (!options.dryRun) await table.storage.delete(o.path);
  }
  return result;
}
