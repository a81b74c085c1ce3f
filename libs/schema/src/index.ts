export * from "./certificate-entry.ts";
export { certificateEntrySchema, certificateEntrySchemaText } from "./avro.ts";
