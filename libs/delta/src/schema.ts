/** Delta Lake schema types as they appear in `metaData.schemaString` (Spark's JSON schema format). */

export type DeltaPrimitiveType =
  | "string"
  | "long"
  | "integer"
  | "short"
  | "byte"
  | "float"
  | "double"
  | "boolean"
  | "binary"
  | "date"
  | "timestamp"
  | "timestamp_ntz"
  | `decimal(${number},${number})`;

export interface DeltaArrayType {
  type: "array";
  elementType: DeltaType;
  containsNull: boolean;
}

export interface DeltaMapType {
  type: "map";
  keyType: DeltaType;
  valueType: DeltaType;
  valueContainsNull: boolean;
}

export interface DeltaStructField {
  name: string;
  type: DeltaType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}

export interface DeltaStructType {
  type: "struct";
  fields: DeltaStructField[];
}

export type DeltaType = DeltaPrimitiveType | DeltaArrayType | DeltaMapType | DeltaStructType;

export function field(name: string, type: DeltaType, nullable = true): DeltaStructField {
  return { name, type, nullable, metadata: {} };
}

export function arrayOf(elementType: DeltaType, containsNull = true): DeltaArrayType {
  return { type: "array", elementType, containsNull };
}

export function parseSchemaString(schemaString: string): DeltaStructType {
  const parsed = JSON.parse(schemaString) as DeltaStructType;
  if (parsed?.type !== "struct" || !Array.isArray(parsed.fields)) {
    throw new Error("metaData.schemaString is not a struct type");
  }
  return parsed;
}

/** The type's name for messages: "long", "array<string>", "struct<...>". */
export function typeName(t: DeltaType): string {
  if (typeof t === "string") return t;
  if (t.type === "array") return `array<${typeName(t.elementType)}>`;
  if (t.type === "map") return `map<${typeName(t.keyType)},${typeName(t.valueType)}>`;
  return `struct<${t.fields.map((f) => `${f.name}:${typeName(f.type)}`).join(",")}>`;
}
