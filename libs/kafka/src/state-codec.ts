import { trackSchemaRegistryCall } from "@certstream/metrics";
import { asIngesterState, type IngesterState, ingesterStateSchemaText } from "@certstream/schema";
import avro from "avsc";

/**
 * Confluent wire format (magic 0, 4-byte schema id, Avro body) for the ingester state, registered in the
 * schema registry under `<topic>-value` with BACKWARD compatibility. Decoding resolves the writer schema by id
 * (cached), so a state written by an older or newer compatible schema still reads.
 */
export class StateCodec {
  readonly registryUrl: string;
  readonly subject: string;
  private schemaId = -1;
  private readonly type = avro.Type.forSchema(JSON.parse(ingesterStateSchemaText));
  private readonly writers = new Map<number, avro.Type>();
  private readonly resolvers = new Map<number, avro.Type | avro.Resolver>();

  constructor(registryUrl: string, topic: string) {
    this.registryUrl = registryUrl.replace(/\/+$/, "");
    this.subject = `${topic}-value`;
  }

  /** Sets the subject's compatibility and registers the schema (idempotent: same schema, same id). */
  async register(compatibility = "BACKWARD"): Promise<number> {
    this.schemaId = await registerSchema(
      this.registryUrl,
      this.subject,
      ingesterStateSchemaText,
      compatibility,
    );
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
        writer = avro.Type.forSchema(await fetchSchema(this.registryUrl, id));
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

const JSON_CT = "application/vnd.schemaregistry.v1+json";

/** Registers an Avro schema through the Confluent-compatible REST API, after setting the compatibility level. */
export async function registerSchema(
  registryUrl: string,
  subject: string,
  schemaText: string,
  compatibility: string,
): Promise<number> {
  const base = registryUrl.replace(/\/+$/, "");
  const s = encodeURIComponent(subject);
  const cfg = await trackSchemaRegistryCall(
    fetch(`${base}/config/${s}`, {
      method: "PUT",
      headers: { "content-type": JSON_CT },
      body: JSON.stringify({ compatibility }),
    }),
  );
  if (!cfg.ok) throw new Error(`schema registry: PUT /config/${subject} → ${cfg.status} ${await cfg.text()}`);
  const res = await trackSchemaRegistryCall(
    fetch(`${base}/subjects/${s}/versions`, {
      method: "POST",
      headers: { "content-type": JSON_CT },
      body: JSON.stringify({ schema: schemaText, schemaType: "AVRO" }),
    }),
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`schema registry: register ${subject} → ${res.status} ${text}`);
  const id = (JSON.parse(text) as { id?: unknown }).id;
  if (typeof id !== "number")
    throw new Error(`schema registry: register ${subject} answered without id: ${text}`);
  return id;
}

async function fetchSchema(registryUrl: string, id: number): Promise<avro.Schema> {
  const res = await trackSchemaRegistryCall(fetch(`${registryUrl}/schemas/ids/${id}`));
  const text = await res.text();
  if (!res.ok) throw new Error(`schema registry: GET /schemas/ids/${id} → ${res.status} ${text}`);
  return JSON.parse((JSON.parse(text) as { schema: string }).schema) as avro.Schema;
}
