export { certificateEntrySchema, certificateEntrySchemaText } from "./avro.ts";
export * from "./certificate-entry.ts";
export * from "./tree-verification.ts";
