/** A table needs something this implementation does not do; `feature` names it (e.g. "deletionVectors"). */
export class UnsupportedFeatureError extends Error {
  readonly feature: string;
  constructor(feature: string, message: string) {
    super(message);
    this.name = "UnsupportedFeatureError";
    this.feature = feature;
  }
}

/** Another writer committed something that invalidates this commit (e.g. a txn version moved). Not retryable as is. */
export class CommitConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommitConflictError";
  }
}

/** A commit's expected txn version for an appId no longer holds: another writer committed those offsets. */
export class TxnConflictError extends CommitConflictError {
  readonly appId: string;
  constructor(appId: string, message: string) {
    super(message);
    this.name = "TxnConflictError";
    this.appId = appId;
  }
}

/**
 * A commit's write failed and its version could not be read back: the write may have landed (a store that lost
 * its answer). Nothing the commit names may be removed.
 */
export class CommitOutcomeUnknownError extends Error {
  readonly version: number;
  constructor(version: number, cause: unknown) {
    super(
      `commit of version ${version}: the write failed and the version cannot be read back: it may have landed`,
      {
        cause,
      },
    );
    this.name = "CommitOutcomeUnknownError";
    this.version = version;
  }
}

/** The log cannot produce the requested snapshot (missing commits, no table, version not reconstructable). */
export class TableStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TableStateError";
  }
}
