/** Delta log actions (PROTOCOL.md "Actions"), as read from and written to `_delta_log`. */

export interface ProtocolAction {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

export interface MetadataAction {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string | null>;
  createdTime?: number | null;
}

export interface DeletionVectorDescriptor {
  storageType: string;
  pathOrInlineDv: string;
  offset?: number;
  sizeInBytes: number;
  cardinality: number;
}

export interface AddAction {
  /** URI-encoded path relative to the table root (or absolute URI). */
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** JSON string: {numRecords, minValues, maxValues, nullCount, tightBounds?}. */
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
}

export interface RemoveAction {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  deletionVector?: DeletionVectorDescriptor | null;
}

export interface TxnAction {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

export type CommitInfo = Record<string, unknown>;

/** One line of a commit file. Unknown action kinds are kept as `other` and otherwise ignored. */
export type Action =
  | { protocol: ProtocolAction }
  | { metaData: MetadataAction }
  | { add: AddAction }
  | { remove: RemoveAction }
  | { txn: TxnAction }
  | { commitInfo: CommitInfo };

/** Parsed file statistics (the `stats` JSON of an add action). */
export interface FileStats {
  numRecords: number;
  minValues: Record<string, unknown>;
  maxValues: Record<string, unknown>;
  nullCount: Record<string, unknown>;
  tightBounds?: boolean;
}

export function parseStats(stats: string | null | undefined): FileStats | null {
  if (!stats) return null;
  try {
    const s = JSON.parse(stats) as Partial<FileStats>;
    if (typeof s.numRecords !== "number") return null;
    return {
      numRecords: s.numRecords,
      minValues: s.minValues ?? {},
      maxValues: s.maxValues ?? {},
      nullCount: s.nullCount ?? {},
      ...(s.tightBounds === undefined ? {} : { tightBounds: s.tightBounds }),
    };
  } catch {
    // Unparseable stats only disable pruning for that file; the data is still read.
    return null;
  }
}

const enc = new TextEncoder();

/** Serialises actions as a commit file: one JSON object per line, newline-terminated. */
export function encodeCommit(actions: Action[]): Uint8Array {
  return enc.encode(`${actions.map((a) => JSON.stringify(a)).join("\n")}\n`);
}

const dec = new TextDecoder();

/** Parses a commit file; blank lines are skipped; a line that is not JSON makes the whole commit invalid. */
export function decodeCommit(bytes: Uint8Array, name: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of dec.decode(bytes).split("\n")) {
    const t = line.trim();
    if (t === "") continue;
    try {
      out.push(JSON.parse(t) as Record<string, unknown>);
    } catch (err) {
      throw new Error(`corrupt Delta commit ${name}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Delta's 20-digit zero-padded version file names. */
export function versionPrefix(version: number): string {
  return String(version).padStart(20, "0");
}

export function commitPath(version: number): string {
  return `_delta_log/${versionPrefix(version)}.json`;
}
