/**
 * The archive search's errors, one code each (SEARCH_ERR_*). The HTTP layer maps them to statuses: a bad
 * parameter is a 400 naming it, a query that would scan too much a 422 saying how to narrow it.
 */
export const SEARCH_ERROR_CODES = [
  "SEARCH_ERR_PARAM",
  "SEARCH_ERR_TOO_BROAD",
  "SEARCH_ERR_CURSOR_STALE",
  "SEARCH_ERR_NOT_FOUND",
] as const;
export type SearchErrorCode = (typeof SEARCH_ERROR_CODES)[number];

export class SearchError extends Error {
  readonly code: SearchErrorCode;
  constructor(code: SearchErrorCode, message: string) {
    super(message);
    this.name = "SearchError";
    this.code = code;
  }
}

/** A request parameter is missing, malformed or out of range; `param` names it. */
export class SearchParamError extends SearchError {
  readonly param: string;
  constructor(param: string, message: string) {
    super("SEARCH_ERR_PARAM", `${param}: ${message}`);
    this.name = "SearchParamError";
    this.param = param;
  }
}

/** The query would read more than the configured share of the table's rows; `hint` says how to narrow it. */
export class QueryTooBroadError extends SearchError {
  readonly share: number;
  readonly maxShare: number;
  readonly hint: string;
  constructor(share: number, maxShare: number, hint: string) {
    super(
      "SEARCH_ERR_TOO_BROAD",
      `the query would scan ${(share * 100).toFixed(1)} % of the archive's rows (limit ${(maxShare * 100).toFixed(1)} %): ${hint}`,
    );
    this.name = "QueryTooBroadError";
    this.share = share;
    this.maxShare = maxShare;
    this.hint = hint;
  }
}

/** A cursor or DER reference points at a table version or file that is gone (vacuumed); search again. */
export class StaleReferenceError extends SearchError {
  constructor(message: string) {
    super("SEARCH_ERR_CURSOR_STALE", message);
    this.name = "StaleReferenceError";
  }
}
