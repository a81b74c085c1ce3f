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

/** The log cannot produce the requested snapshot (missing commits, no table, version not reconstructable). */
export class TableStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TableStateError";
  }
}
