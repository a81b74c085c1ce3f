import { DeltaLog, DeltaTable, LocalStorage, type Storage } from "@certstream/delta";
import { sinkTxnVersions } from "./archive-scan.ts";

export interface WaitResult {
  covered: boolean;
  /** partition → [stored version, needed offset] for the partitions still short. */
  behind: Map<number, [bigint | null, bigint]>;
  waitedMs: number;
}

/**
 * Waits until the delta sink's `txn` versions for the backfill topic cover the last offset this run produced in
 * each partition: then every record of the run is in the table (the sink commits data and txn in one version).
 */
export async function waitForSink(opts: {
  tablePath: string;
  /** The table's storage (S3); default: a local directory at tablePath. */
  storage?: Storage;
  topic: string;
  lastOffsets: Map<number, bigint>;
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
}): Promise<WaitResult> {
  const started = Date.now();
  const storage = opts.storage ?? new LocalStorage(opts.tablePath, { sync: false });
  let table: DeltaTable | null = null;
  const behind = new Map<number, [bigint | null, bigint]>();
  for (;;) {
    behind.clear();
    if (!table && (await new DeltaLog(storage).exists())) table = await DeltaTable.open(storage);
    const versions = table ? sinkTxnVersions(await table.refresh(), opts.topic) : new Map<number, bigint>();
    for (const [p, need] of opts.lastOffsets) {
      const have = versions.get(p);
      if (have === undefined || have < need) behind.set(p, [have ?? null, need]);
    }
    const waitedMs = Date.now() - started;
    if (behind.size === 0) return { covered: true, behind, waitedMs };
    if (waitedMs >= opts.timeoutMs || opts.signal?.aborted) return { covered: false, behind, waitedMs };
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
