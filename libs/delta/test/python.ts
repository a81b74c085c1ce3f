import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The Python with `deltalake` (delta-rs) installed: $PYTHON, else the repo's .venv (requirements-test.txt). */
export function python(): string {
  const p = process.env.PYTHON ?? `${repoRoot}.venv/bin/python`;
  if (!existsSync(p))
    throw new Error(`no Python at ${p}: install requirements-test.txt into .venv (or set PYTHON)`);
  return p;
}

export interface DeltaRsView {
  version: number;
  protocol: { minReaderVersion: number; minWriterVersion: number };
  partition_columns: string[];
  schema: [string, string, boolean][];
  delta_schema: { fields: { name: string; type: unknown; nullable: boolean }[] };
  num_files: number;
  txns: Record<string, number | null>;
  rows: Record<string, unknown>[];
}

/**
 * Reads a table with delta-rs (an independent implementation) and returns what it sees. `tablePath` may be an
 * s3:// URI, with delta-rs `storageOptions` (AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, ...).
 */
export async function readWithDeltaRs(
  tablePath: string,
  appIds: string[] = [],
  storageOptions?: Record<string, string>,
): Promise<DeltaRsView> {
  const script = fileURLToPath(new URL("./python/read_table.py", import.meta.url));
  const env = storageOptions
    ? { ...process.env, DELTA_STORAGE_OPTIONS: JSON.stringify(storageOptions) }
    : process.env;
  const { stdout } = await promisify(execFile)(python(), [script, tablePath, ...appIds], {
    maxBuffer: 1 << 30,
    env,
  });
  return JSON.parse(stdout) as DeltaRsView;
}
