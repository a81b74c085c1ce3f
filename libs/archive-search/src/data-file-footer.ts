import type { Storage } from "@certstream/delta";
import { storagePath } from "@certstream/delta";
import type { FileMetaData, ParquetParsers } from "hyparquet";
import { parquetMetadataAsync } from "hyparquet";
import type { ReadCounter } from "./data-file-reader.ts";
import { openDataFile } from "./data-file-reader.ts";
import type { FileDomainFilters } from "./domain-filter.ts";
import { DOMAIN_FILTER_KEY, decodeDomainFilters } from "./domain-filter.ts";

/** Timestamps as µs numbers (exact below 2^53 µs, the year 2255), not Date objects. */
export const PARSERS: Partial<ParquetParsers> = {
  timestampFromMicroseconds: (us: bigint) => Number(us),
  timestampFromMilliseconds: (ms: bigint) => Number(ms) * 1000,
  timestampFromNanoseconds: (ns: bigint) => Number(ns / 1000n),
};

/** What a search needs from a data file's footer, parsed once per file (data files never change). */
export interface DataFileFooter {
  metadata: FileMetaData;
  numRows: number;
  /** First row of each row group, plus numRows at the end. */
  rowGroupStarts: number[];
  /** Top-level columns the file has (older files lack columns added later: they read as null). */
  columns: Set<string>;
  /** Granule filters of a clustered file, null for others. */
  domainFilters: FileDomainFilters | null;
}

function footerOf(metadata: FileMetaData): DataFileFooter {
  const starts = [0];
  for (const rg of metadata.row_groups) starts.push(starts[starts.length - 1] + Number(rg.num_rows));
  const columns = new Set<string>();
  // schema[0] is the root; top-level children are the elements right under it (num_children tells nesting).
  const schema = metadata.schema;
  let i = 1;
  const skip = (): void => {
    const n = schema[i].num_children ?? 0;
    i++;
    for (let k = 0; k < n; k++) skip();
  };
  while (i < schema.length) {
    columns.add(schema[i].name);
    skip();
  }
  const kv = metadata.key_value_metadata?.find((e) => e.key === DOMAIN_FILTER_KEY)?.value;
  return {
    metadata,
    numRows: Number(metadata.num_rows),
    rowGroupStarts: starts,
    columns,
    domainFilters: decodeDomainFilters(kv ?? undefined),
  };
}

/** Footers of data files by path, least recently used dropped past `maxFiles`. */
export class FooterCache {
  readonly #maxFiles: number;
  readonly #entries = new Map<string, Promise<DataFileFooter>>();
  hits = 0;
  misses = 0;

  constructor(maxFiles: number) {
    this.#maxFiles = maxFiles;
  }

  get(storage: Storage, logPath: string, size: number, counter: ReadCounter): Promise<DataFileFooter> {
    const cached = this.#entries.get(logPath);
    if (cached) {
      this.hits++;
      this.#entries.delete(logPath);
      this.#entries.set(logPath, cached);
      return cached;
    }
    this.misses++;
    const loading = openDataFile(storage, storagePath(logPath), size, counter)
      .then((file) => parquetMetadataAsync(file, { parsers: PARSERS }))
      .then(footerOf);
    // A failed read is not cached: the next search tries again.
    loading.catch(() => this.#entries.delete(logPath));
    this.#entries.set(logPath, loading);
    while (this.#entries.size > this.#maxFiles) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return loading;
  }
}
