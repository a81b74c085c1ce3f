export { certificateEntrySchema, certificateEntrySchemaText } from "./avro.ts";
export * from "./certificate-entry.ts";
export {
  asIngesterState,
  type IngesterState,
  ingesterStateSchemaText,
  type StoredVerification,
  type TreeMismatch,
} from "./ingester-state.ts";
export * from "./tree-verification.ts";
