// @certstream/archive-search: certificates from the Delta archive by domain, issuer, log and time.
export { ARCHIVE_SCHEMA, RESULT_COLUMNS } from "./archive-schema.ts";
export type { ArchiveSearchOptions, SearchResult, SearchStats } from "./archive-search.ts";
export { ArchiveSearch } from "./archive-search.ts";
export type { ClusterOptions, ClusterResult } from "./cluster-table.ts";
export { clusterTable, isClustered } from "./cluster-table.ts";
export type { ClusteredFileOptions, ColumnData } from "./clustered-file.ts";
export { clusterOrder, writeClusteredFile } from "./clustered-file.ts";
export type { FileDomainFilters, GranuleFilter } from "./domain-filter.ts";
export { DOMAIN_FILTER_KEY, decodeDomainFilters } from "./domain-filter.ts";
export { clusterSortKey, registeredDomainOf, reversedKey } from "./domain-key.ts";
export type { SearchErrorCode } from "./errors.ts";
export {
  QueryTooBroadError,
  SEARCH_ERROR_CODES,
  SearchError,
  SearchParamError,
  StaleReferenceError,
} from "./errors.ts";
export type { SearchQuery } from "./search-query.ts";
export { DEFAULT_LIMIT, MAX_LIMIT, parseSearchParams, parseTimeBound } from "./search-query.ts";
export type { SearchResultRow } from "./search-result.ts";
export type { SyntheticArchiveOptions, SyntheticArchiveResult } from "./synthetic-archive.ts";
export { syntheticDomain, writeSyntheticArchive } from "./synthetic-archive.ts";
