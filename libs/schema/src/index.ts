export { certificateEntrySchema, certificateEntrySchemaText } from "./avro.ts";
export * from "./certificate-entry.ts";
export {
  asIngesterState,
  barrierKey,
  type IngesterState,
  ingesterStateSchemaText,
  type StoredVerification,
  stateKey,
  type TreeMismatch,
} from "./ingester-state.ts";
export * from "./tree-verification.ts";
