import type {
  AddAction,
  FileStats,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
  TxnAction,
} from "./actions.ts";
import { parseStats } from "./actions.ts";
import { TableStateError } from "./errors.ts";
import { checkReadable } from "./features.ts";
import type { DeltaStructType } from "./schema.ts";
import { parseSchemaString } from "./schema.ts";

/** A live data file of a snapshot, with its statistics parsed. */
export interface DataFile extends AddAction {
  parsedStats: FileStats | null;
}

function fileKey(
  path: string,
  dv: { storageType: string; pathOrInlineDv: string; offset?: number } | null | undefined,
) {
  return dv ? `${path}#${dv.storageType}${dv.pathOrInlineDv}${dv.offset ?? ""}` : path;
}

/**
 * The state of a table at one version: the result of replaying a checkpoint and the commits after it
 * (PROTOCOL.md "Action Reconciliation"). Latest protocol and metaData win, the latest txn per appId wins,
 * adds and removes are keyed by (path, deletion vector).
 */
export class Snapshot {
  version = -1;
  protocol: ProtocolAction | null = null;
  metadata: MetadataAction | null = null;
  private schemaCache: { text: string; schema: DeltaStructType } | null = null;
  private readonly liveFiles = new Map<string, DataFile>();
  private readonly removed = new Map<string, RemoveAction>();
  private readonly txns = new Map<string, TxnAction>();
  /** Non-fatal oddities met while loading (an empty `_last_checkpoint`, ...). */
  readonly warnings: string[] = [];

  /** Applies the actions of one commit (or checkpoint) in order. Unknown actions are ignored, as required. */
  apply(actions: Iterable<Record<string, unknown>>): void {
    for (const a of actions) {
      if (a.add) {
        const add = a.add as AddAction;
        const key = fileKey(add.path, add.deletionVector);
        this.removed.delete(key);
        this.liveFiles.set(key, { ...add, parsedStats: parseStats(add.stats) });
      } else if (a.remove) {
        const rm = a.remove as RemoveAction;
        const key = fileKey(rm.path, rm.deletionVector);
        this.liveFiles.delete(key);
        this.removed.set(key, rm);
      } else if (a.txn) {
        const t = a.txn as TxnAction;
        this.txns.set(t.appId, t);
      } else if (a.metaData) {
        this.metadata = a.metaData as MetadataAction;
      } else if (a.protocol) {
        this.protocol = a.protocol as ProtocolAction;
      }
    }
  }

  /** Throws unless the table has protocol and metadata and we support every reader feature it needs. */
  validate(): void {
    if (!this.protocol) throw new TableStateError(`table at version ${this.version} has no protocol action`);
    if (!this.metadata) throw new TableStateError(`table at version ${this.version} has no metaData action`);
    checkReadable(this.protocol, this.metadata);
  }

  get schema(): DeltaStructType {
    if (!this.metadata) throw new TableStateError("table has no metaData");
    if (this.schemaCache?.text !== this.metadata.schemaString) {
      this.schemaCache = {
        text: this.metadata.schemaString,
        schema: parseSchemaString(this.metadata.schemaString),
      };
    }
    return this.schemaCache.schema;
  }

  get partitionColumns(): string[] {
    return this.metadata?.partitionColumns ?? [];
  }

  get configuration(): Record<string, string | null> {
    return this.metadata?.configuration ?? {};
  }

  /** Live data files. */
  files(): DataFile[] {
    return [...this.liveFiles.values()];
  }

  get numFiles(): number {
    return this.liveFiles.size;
  }

  /** Remove tombstones still in the snapshot (kept in checkpoints until they expire). */
  tombstones(): RemoveAction[] {
    return [...this.removed.values()];
  }

  /** Drops tombstones older than `cutoffMs` (delta.deletedFileRetentionDuration). */
  expireTombstones(cutoffMs: number): void {
    for (const [k, r] of this.removed) {
      if ((r.deletionTimestamp ?? 0) < cutoffMs) this.removed.delete(k);
    }
  }

  /** The version of the latest txn for appId, or undefined when the table has none. */
  txnVersion(appId: string): number | undefined {
    return this.txns.get(appId)?.version;
  }

  /** Every application transaction (appId → latest txn). */
  transactions(): Map<string, TxnAction> {
    return new Map(this.txns);
  }

  clone(): Snapshot {
    const s = new Snapshot();
    s.version = this.version;
    s.protocol = this.protocol;
    s.metadata = this.metadata;
    s.schemaCache = this.schemaCache;
    for (const [k, v] of this.liveFiles) s.liveFiles.set(k, v);
    for (const [k, v] of this.removed) s.removed.set(k, v);
    for (const [k, v] of this.txns) s.txns.set(k, v);
    s.warnings.push(...this.warnings);
    return s;
  }
}
