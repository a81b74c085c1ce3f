import type { Action } from "./actions.ts";
import { commitPath, decodeCommit, encodeCommit, versionPrefix } from "./actions.ts";
import { Checkpoint } from "./checkpoint.ts";
import { CommitOutcomeUnknownError, TableStateError } from "./errors.ts";
import { Snapshot } from "./snapshot.ts";
import type { Storage } from "./storage.ts";

const COMMIT_RE = /^(\d{20})\.json$/;
const CLASSIC_CP_RE = /^(\d{20})\.checkpoint\.parquet$/;
const MULTI_CP_RE = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;

interface CheckpointFiles {
  version: number;
  parts: string[];
}

/** What `_delta_log` holds: commit versions and complete checkpoints. Other files (.crc, hidden, _sidecars) are ignored. */
export interface LogListing {
  commits: Set<number>;
  checkpoints: Map<number, CheckpointFiles>;
  latestVersion: number;
}

/**
 * The transaction log of one table: lists it, loads snapshots (checkpoint + later commits), and commits new
 * versions with put-if-absent so that an existing log entry is never overwritten.
 */
export class DeltaLog {
  readonly storage: Storage;

  constructor(storage: Storage) {
    this.storage = storage;
  }

  /** Lists `_delta_log`, or only what sorts after version `fromVersion`'s prefix (that version's files included). */
  async listing(fromVersion?: number): Promise<LogListing> {
    const startAfter =
      fromVersion === undefined || fromVersion <= 0 ? undefined : `_delta_log/${versionPrefix(fromVersion)}`;
    const objects = await this.storage.list("_delta_log", false, { startAfter });
    const commits = new Set<number>();
    const classic = new Map<number, string>();
    const multi = new Map<string, { version: number; total: number; parts: Map<number, string> }>();
    for (const o of objects) {
      const name = o.path.slice(o.path.lastIndexOf("/") + 1);
      let m = COMMIT_RE.exec(name);
      if (m) {
        commits.add(Number(m[1]));
        continue;
      }
      m = CLASSIC_CP_RE.exec(name);
      if (m) {
        classic.set(Number(m[1]), o.path);
        continue;
      }
      m = MULTI_CP_RE.exec(name);
      if (m) {
        const version = Number(m[1]);
        const total = Number(m[3]);
        const key = `${version}/${total}`;
        let g = multi.get(key);
        if (!g) {
          g = { version, total, parts: new Map() };
          multi.set(key, g);
        }
        g.parts.set(Number(m[2]), o.path);
      }
    }
    const checkpoints = new Map<number, CheckpointFiles>();
    for (const [version, path] of classic) checkpoints.set(version, { version, parts: [path] });
    for (const g of multi.values()) {
      // An incomplete multi-part set (a writer died midway) must be ignored.
      if (g.parts.size !== g.total || checkpoints.has(g.version)) continue;
      const parts: string[] = [];
      for (let i = 1; i <= g.total; i++) {
        const p = g.parts.get(i);
        if (p) parts.push(p);
      }
      if (parts.length === g.total) checkpoints.set(g.version, { version: g.version, parts });
    }
    let latestVersion = -1;
    for (const v of commits) latestVersion = Math.max(latestVersion, v);
    for (const v of checkpoints.keys()) latestVersion = Math.max(latestVersion, v);
    return { commits, checkpoints, latestVersion };
  }

  /** True when `_delta_log` has at least one commit or checkpoint. */
  async exists(): Promise<boolean> {
    return (await this.listing()).latestVersion >= 0;
  }

  async readCommit(version: number): Promise<Record<string, unknown>[] | null> {
    const path = commitPath(version);
    const bytes = await this.storage.get(path);
    return bytes ? decodeCommit(bytes, path) : null;
  }

  /**
   * Loads the snapshot at `version` (latest when omitted): the newest complete checkpoint at or before it, then
   * every commit after it in order. Validates that we can read the table (refuses unsupported features).
   */
  async snapshot(version?: number, options: { validate?: boolean } = {}): Promise<Snapshot> {
    // For the latest version, list from the last checkpoint on (a long log on S3 is many list pages); when that
    // checkpoint is not there (stale or damaged _last_checkpoint), list everything.
    const lastHint = version === undefined ? (await Checkpoint.readLastCheckpoint(this.storage)).value : null;
    let listing = await this.listing(lastHint?.version);
    if (lastHint && !listing.checkpoints.has(lastHint.version)) listing = await this.listing();
    if (listing.latestVersion < 0) {
      throw new TableStateError(`no Delta table at ${this.storage.location}: _delta_log has no commits`);
    }
    const target = version ?? listing.latestVersion;
    if (target > listing.latestVersion) {
      throw new TableStateError(`version ${target} does not exist (latest is ${listing.latestVersion})`);
    }
    const snap = new Snapshot();
    const last = await Checkpoint.readLastCheckpoint(this.storage);
    if (last.warning) snap.warnings.push(last.warning);
    let cp: CheckpointFiles | undefined;
    for (const c of listing.checkpoints.values()) {
      if (c.version <= target && (!cp || c.version > cp.version)) cp = c;
    }
    let start = 0;
    if (cp) {
      for (const part of cp.parts) snap.apply(await Checkpoint.readPart(this.storage, part));
      snap.version = cp.version;
      start = cp.version + 1;
    } else if (!listing.commits.has(0)) {
      throw new TableStateError(
        `cannot reconstruct version ${target} of ${this.storage.location}: no checkpoint at or before it and no ${commitPath(0)}`,
      );
    }
    for (let v = start; v <= target; v++) {
      const actions = listing.commits.has(v) ? await this.readCommit(v) : null;
      if (!actions) {
        throw new TableStateError(`cannot reconstruct version ${target}: commit ${commitPath(v)} is missing`);
      }
      snap.apply(actions);
      snap.version = v;
    }
    if (options.validate !== false) snap.validate();
    return snap;
  }

  /**
   * Brings `snap` forward in place to the latest version by probing the next commit files (cheaper than listing
   * a long log). Returns the versions applied, with their actions, for conflict checks.
   */
  async update(snap: Snapshot): Promise<{ version: number; actions: Record<string, unknown>[] }[]> {
    const applied: { version: number; actions: Record<string, unknown>[] }[] = [];
    for (;;) {
      const next = snap.version + 1;
      const actions = await this.readCommit(next);
      if (!actions) break;
      snap.apply(actions);
      snap.version = next;
      applied.push({ version: next, actions });
    }
    return applied;
  }

  /**
   * Writes version `version` if nobody has; returns false when it already exists (a concurrent writer won). A
   * write that failed may still have landed (a store whose answer was lost after its retries), so the version is
   * read back: our bytes there are our commit, another's a lost race, nothing means the failure stands; and when
   * it cannot be read either, CommitOutcomeUnknownError.
   */
  async tryCommit(version: number, actions: Action[]): Promise<boolean> {
    const path = commitPath(version);
    const bytes = encodeCommit(actions);
    try {
      return await this.storage.putIfAbsent(path, bytes);
    } catch (err) {
      let there: Uint8Array | null;
      try {
        there = await this.storage.get(path);
      } catch {
        throw new CommitOutcomeUnknownError(version, err);
      }
      if (there === null) throw err;
      return Buffer.compare(there, bytes) === 0;
    }
  }
}
