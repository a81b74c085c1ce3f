export type {
  Action,
  AddAction,
  CommitInfo,
  FileStats,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
  TxnAction,
} from "./actions.ts";
export { commitPath, decodeCommit, encodeCommit, parseStats, versionPrefix } from "./actions.ts";
export type { ArchivedKeys, CertstreamRow } from "./certstream-table.ts";
export {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  certLink,
  chainJson,
  QUERY_COLUMNS,
  scanArchivedKeys,
  seenDate,
  toRow,
} from "./certstream-table.ts";
export type { LastCheckpoint } from "./checkpoint.ts";
export { Checkpoint } from "./checkpoint.ts";
export type { ColumnValues, ScanBatch } from "./data-reader.ts";
export { parsePartitionValue, readDataFile, storagePath } from "./data-reader.ts";
export type { LogListing } from "./delta-log.ts";
export { DeltaLog } from "./delta-log.ts";
export {
  CommitConflictError,
  CommitOutcomeUnknownError,
  TableStateError,
  TxnConflictError,
  UnsupportedFeatureError,
} from "./errors.ts";
export {
  checkReadable,
  checkWritable,
  SUPPORTED_READER_FEATURES,
  SUPPORTED_WRITER_FEATURES,
} from "./features.ts";
export type { OptimizeOptions, OptimizeResult } from "./optimize.ts";
export { commitRewrite, mergeStats, optimize } from "./optimize.ts";
export { compressors } from "./parquet-compressors.ts";
export type { ParquetWriterOptions, Row, WrittenFile } from "./parquet-writer.ts";
export { ParquetWriter } from "./parquet-writer.ts";
export type { S3StorageOptions } from "./s3-storage.ts";
export { S3Storage } from "./s3-storage.ts";
export type {
  DeltaArrayType,
  DeltaMapType,
  DeltaPrimitiveType,
  DeltaStructField,
  DeltaStructType,
  DeltaType,
} from "./schema.ts";
export { arrayOf, field, parseSchemaString, typeName } from "./schema.ts";
export type { DataFile } from "./snapshot.ts";
export { Snapshot } from "./snapshot.ts";
export type { Storage, StoredObject } from "./storage.ts";
export { LocalStorage } from "./storage.ts";
export type {
  AppendResult,
  CommitOptions,
  CreateTableOptions,
  DeltaTableOptions,
  Filter,
  ScanOptions,
} from "./table.ts";
export { DeltaTable } from "./table.ts";
export type { TableLocation, TableLocationConfig } from "./table-location.ts";
export {
  parseTableLocation,
  STORAGE_OPTION_KEYS,
  StorageConfigError,
  s3ClientConfig,
  storageFor,
  tableLocationText,
  verifyStorage,
} from "./table-location.ts";
export { encodeLogPath, newDataFilePath } from "./table-paths.ts";
export type { VacuumOptions, VacuumResult } from "./vacuum.ts";
export { vacuum } from "./vacuum.ts";
