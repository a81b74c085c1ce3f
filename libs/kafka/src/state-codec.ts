import { asIngesterState, type IngesterState, ingesterStateSchemaText } from "@certstream/schema";
import avro from "avsc";
import { type Compatibility, SchemaRegistry } from "./schema-registry.ts";

/**
 * Confluent wire format (magic 0, 4-byte schema id, Avro body) for the ingester state, registered in the
 * schema registry under `<topic>-value` with BACKWARD compatibility. Decoding resolves the writer schema by id
 * (cached), so a state written by an older or newer compatible schema still reads.
 */
export class StateCodec {
  readonly subject: string;
  readonly #registry: SchemaRegistry;
  private schemaId = -1;
  private readonly type = avro.Type.forSchema(JSON.parse(ingesterStateSchemaText));
  private readonly writers = new Map<number, avro.Type>();
  private readonly resolvers = new Map<number, avro.Type | avro.Resolver>();

  constructor(registryUrl: string, topic: string) {
    this.#registry = new SchemaRegistry(registryUrl);
    this.subject = `${topic}-value`;
  }

  /** Sets the subject's compatibility and registers the schema (idempotent: same schema, same id). */
  async register(compatibility: Compatibility = "BACKWARD"): Promise<number> {
    this.schemaId = await this.#registry.register(this.subject, ingesterStateSchemaText, compatibility);
    this.writers.set(this.schemaId, this.type);
    return this.schemaId;
  }

  encode(state: IngesterState): Buffer {
    if (this.schemaId < 0) throw new Error("StateCodec.encode before register()");
    const body = this.type.toBuffer(state);
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeUInt32BE(this.schemaId, 1);
    body.copy(out, 5);
    return out;
  }

  /** Null when the bytes are not a state record (the caller counts and skips it). */
  async decode(buf: Buffer): Promise<IngesterState | null> {
    if (buf.length < 5 || buf[0] !== 0) return null;
    const id = buf.readUInt32BE(1);
    let resolver = this.resolvers.get(id);
    if (!resolver) {
      let writer = this.writers.get(id);
      if (!writer) {
        writer = avro.Type.forSchema(await this.#registry.schema(id));
        this.writers.set(id, writer);
      }
      resolver = writer === this.type ? this.type : this.type.createResolver(writer);
      this.resolvers.set(id, resolver);
    }
    try {
      const value =
        resolver === this.type
          ? this.type.fromBuffer(buf.subarray(5))
          : this.type.fromBuffer(buf.subarray(5), resolver as avro.Resolver);
      return asIngesterState(value);
    } catch {
      return null;
    }
  }
}
