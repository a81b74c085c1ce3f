import {
  type CertificateEntry,
  type ChainCertificate,
  certificateEntrySchema,
  certificateEntrySchemaText,
} from "@certstream/schema";
import avro from "avsc";
import { type Compatibility, SchemaRegistry } from "./schema-registry.ts";

/** TopicNameStrategy: the value schema of topic T is registered under subject `T-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export interface CertificateEntryCodecOptions {
  /** Confluent-compatible base URL, e.g. `http://127.0.0.1:18081/apis/ccompat/v7` (Apicurio's ccompat API). */
  registryUrl: string;
  clientId?: string;
  compatibility?: Compatibility;
}

/** How records of one schema id are read; `local`: the writer schema is the local one (no resolution). */
interface Reader {
  local: boolean;
  read: (body: Buffer) => CertificateEntry;
}

/** Confluent wire format: magic byte 0, schema id (int32 big-endian), Avro body. */
const MAGIC = 0;
const HEADER_BYTES = 5;

/**
 * Encodes and decodes CertificateEntry records in the Confluent wire format through a schema registry.
 *
 * - `register(subject)` registers libs/schema/avro/CertificateEntry.avsc (idempotent: the same schema gets the
 *   same id) and sets the subject's compatibility; `encode` then writes with that id.
 * - `decode` reads any registered version: the writer schema is fetched by id (cached) and resolved to the
 *   local schema, so fields added later with defaults are filled in.
 * Bytes fields come back as Buffer, which is a Uint8Array (what CertificateEntry declares).
 *
 * Encoding is done with avsc directly, not through SchemaRegistry.encode, which validates every record in a
 * separate pass first; validation runs here only to explain a record that failed to encode.
 */
export class CertificateEntryCodec {
  readonly #registry: SchemaRegistry;
  readonly #compatibility: Compatibility;
  readonly #type: avro.Type = avro.Type.forSchema(certificateEntrySchema as unknown as avro.Schema);
  readonly #ids = new Map<string, number>();
  readonly #readers = new Map<number, Promise<Reader>>();
  #defaultId: number | null = null;
  /** encodeSync's scratch buffer (grows to the largest record seen). */
  #scratch: Buffer = Buffer.allocUnsafe(64 * 1024);

  constructor(options: CertificateEntryCodecOptions) {
    this.#registry = new SchemaRegistry(options.registryUrl, options.clientId);
    this.#compatibility = options.compatibility ?? "BACKWARD";
  }

  /**
   * Sets `subject`'s compatibility, registers the CertificateEntry schema under it (use `valueSubject(topic)`)
   * and returns its id. Throws a SchemaRegistryError: the registry's 409 when the schema is incompatible with
   * what is registered, or status 0 when the registry cannot be reached.
   */
  async register(subject: string): Promise<number> {
    const id = await this.#registry.register(subject, certificateEntrySchemaText, this.#compatibility);
    this.#ids.set(subject, id);
    this.#defaultId ??= id;
    return id;
  }

  /** The id `encode` uses for `subject` (or the first registered subject), or null before `register`. */
  schemaId(subject?: string): number | null {
    return subject === undefined ? this.#defaultId : (this.#ids.get(subject) ?? null);
  }

  /** Encodes with the id registered for `subject` (default: the first registered one). */
  async encode(entry: CertificateEntry, subject?: string): Promise<Buffer> {
    return this.encodeSync(entry, subject);
  }

  /** Same as encode, without the promise: for hot loops once `register` has run. */
  encodeSync(entry: CertificateEntry, subject?: string): Buffer {
    const id = this.schemaId(subject);
    if (id === null) {
      throw new Error(`CertificateEntryCodec: register(${subject ?? "<subject>"}) before encoding`);
    }
    // Written once into a reused scratch buffer after the 5-byte header, then copied out at its exact size.
    // (avsc's toBuffer writes into a 1 KiB buffer and, for anything larger — most CT entries — encodes the
    // record a second time into a fresh zero-filled one; then the header needed a third buffer.)
    let end: number;
    try {
      const value = toAvroValue(entry);
      end = this.#type.encode(value, this.#scratch, HEADER_BYTES);
      if (end < 0) {
        // Too small: avsc returns minus the missing bytes.
        this.#scratch = Buffer.allocUnsafe(Math.max(this.#scratch.length * 2, this.#scratch.length - end));
        end = this.#type.encode(value, this.#scratch, HEADER_BYTES);
      }
    } catch (error) {
      throw new Error(`CertificateEntry does not match the Avro schema: ${this.#explain(entry)}`, {
        cause: error,
      });
    }
    if (end < 0) throw new Error(`CertificateEntry encoding overflowed its buffer (${-end} bytes missing)`);
    const out = Buffer.allocUnsafe(end);
    this.#scratch.copy(out, HEADER_BYTES, HEADER_BYTES, end);
    out[0] = MAGIC;
    out.writeInt32BE(id, 1);
    return out;
  }

  /** Decodes a registry-framed record; throws on a foreign magic byte or an unknown schema id. */
  async decode(buffer: Uint8Array): Promise<CertificateEntry> {
    const buf = Buffer.isBuffer(buffer)
      ? buffer
      : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length);
    if (buf.length < HEADER_BYTES || buf[0] !== MAGIC) {
      throw new Error(`not a schema-registry framed record (length ${buf.length}, first byte ${buf[0]})`);
    }
    const id = buf.readInt32BE(1);
    const { read } = await this.#reader(id);
    return read(buf.subarray(HEADER_BYTES));
  }

  /**
   * True when records written with schema `id` are in exactly the local schema's binary layout (no resolution
   * needed), so a caller may read the Avro body itself (the delta sink does, to skip fields it does not store).
   * Fetches the writer schema by id on first use (cached, like decode); throws as decode does for an unknown id.
   */
  async isLocalSchema(id: number): Promise<boolean> {
    return (await this.#reader(id)).local;
  }

  #reader(id: number): Promise<Reader> {
    let reader = this.#readers.get(id);
    if (!reader) {
      reader = this.#makeReader(id);
      this.#readers.set(id, reader);
      reader.catch(() => this.#readers.delete(id)); // retry a failed fetch next time
    }
    return reader;
  }

  async #makeReader(id: number): Promise<Reader> {
    const writer = avro.Type.forSchema(await this.#registry.schema(id));
    const local = this.#type;
    if (writer.equals(local))
      return { local: true, read: (body) => local.fromBuffer(body) as CertificateEntry };
    const resolver = local.createResolver(writer);
    return { local: false, read: (body) => local.fromBuffer(body, resolver) as CertificateEntry };
  }

  #explain(entry: CertificateEntry): string {
    const problems: string[] = [];
    this.#type.isValid(toAvroValue(entry), {
      errorHook: (path: string[], value: unknown) => {
        if (problems.length < 5) problems.push(`${path.join(".")}=${JSON.stringify(value)?.slice(0, 80)}`);
      },
    });
    return problems.join(", ") || "unknown reason";
  }
}

/** avsc's `bytes` accepts only Buffer; CertificateEntry holds Uint8Array. Wrap (no copy) where needed. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toAvroValue(entry: CertificateEntry): CertificateEntry {
  const allBuffers =
    Buffer.isBuffer(entry.leaf_der) &&
    entry.chain.every((c) => Buffer.isBuffer(c.der)) &&
    (entry.raw === null || (Buffer.isBuffer(entry.raw.leaf_input) && Buffer.isBuffer(entry.raw.extra_data)));
  if (allBuffers) return entry;
  return {
    ...entry,
    leaf_der: asBuffer(entry.leaf_der),
    chain: entry.chain.map(
      (c): ChainCertificate => (Buffer.isBuffer(c.der) ? c : { ...c, der: asBuffer(c.der) }),
    ),
    raw: entry.raw && {
      leaf_input: asBuffer(entry.raw.leaf_input),
      extra_data: asBuffer(entry.raw.extra_data),
    },
  };
}
