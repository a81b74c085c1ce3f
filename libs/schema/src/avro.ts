import { readFileSync } from "node:fs";

/** The Avro schema of CertificateEntry, as registered in the schema registry. */
export const certificateEntrySchemaText: string = readFileSync(
  new URL("../avro/CertificateEntry.avsc", import.meta.url),
  "utf8",
);
export const certificateEntrySchema: Record<string, unknown> = JSON.parse(certificateEntrySchemaText);
