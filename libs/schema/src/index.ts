export { certificateEntrySchema, certificateEntrySchemaText } from "./avro.ts";
export * from "./certificate-entry.ts";
export {
  asIngesterState,
  type IngesterState,
  ingesterStateSchemaText,
  type PartitionOffsets,
  type StoredVerification,
  type TreeMismatch,
  type WrittenBatch,
} from "./ingester-state.ts";
export * from "./tree-verification.ts";
