import { clusterTable } from "@certstream/archive-search";
import type { Config } from "@certstream/config";
import { DeltaTable } from "@certstream/delta";
import type { Logger } from "@certstream/log";
import { searchTable } from "./service.ts";

/**
 * `main.ts cluster [--before YYYY-MM-DD] [--max-file-rows N]`: rewrites the sink's files of closed days (seen_date
 * before --before, default today UTC) into files clustered for search. Safe while sinks append.
 */
export async function runCluster(config: Config, logger: Logger, argv: readonly string[]) {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const before = arg("--before") ?? new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(before)) throw new Error(`--before: expected YYYY-MM-DD, got ${before}`);
  const maxRows = Number(arg("--max-file-rows") ?? 500_000);
  if (!Number.isInteger(maxRows) || maxRows < 1)
    throw new Error(`--max-file-rows: expected a positive integer`);
  const table = await DeltaTable.open(searchTable(config).storage);
  return clusterTable(table, {
    maxFileRows: maxRows,
    partitionFilter: (p) => typeof p.seen_date === "string" && p.seen_date < before,
    onCommit: (c) => logger.info({ ...c, delta_version: c.version }, "cluster: partition files rewritten"),
  });
}
