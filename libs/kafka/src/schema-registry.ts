/**
 * The few calls of the Confluent-compatible schema registry REST API the codecs make (Apicurio's `ccompat/v7`
 * answers them too): set a subject's compatibility and register an Avro schema, and fetch a schema by id.
 * One client for both codecs, on node:http (`httpRequest`, not fetch: see there): Avro is all we register, and a
 * general client (with JSON Schema and Protobuf support) kept ajv and protobufjs loaded in every service for nothing.
 */
import {
  type FailureKind,
  failureKind,
  type HttpAnswer,
  httpRequest,
  KindedError,
  trackSchemaRegistryCall,
} from "@certstream/metrics";
import type avro from "avsc";

export type Compatibility =
  | "NONE"
  | "BACKWARD"
  | "BACKWARD_TRANSITIVE"
  | "FORWARD"
  | "FORWARD_TRANSITIVE"
  | "FULL"
  | "FULL_TRANSITIVE";

/**
 * A refusal or failure of the registry. Its kind says which: unreachable (`network`, `timeout`), overloaded or
 * failing (`rate_limit`, `http`), or a refusal about the schema itself (`schema`: unknown id, incompatible).
 */
export class SchemaRegistryError extends KindedError {
  /** The HTTP status, or 0 when the registry could not be reached. */
  readonly status: number;

  constructor(message: string, status: number, options?: ErrorOptions) {
    super(registryFailureKind(status, options?.cause), message, options);
    this.name = "SchemaRegistryError";
    this.status = status;
  }

  /** The registry may answer later: a reader waits and tries the record again instead of skipping it. */
  get unavailable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

function registryFailureKind(status: number, cause: unknown): FailureKind {
  if (status === 0) return failureKind(cause) === "timeout" ? "timeout" : "network";
  if (status === 408 || status === 504) return "timeout";
  if (status === 429) return "rate_limit";
  if (status >= 500) return "http";
  if (status === 401 || status === 403) return "auth";
  return "schema";
}

const JSON_CT = "application/vnd.schemaregistry.v1+json";
/** Network errors and 5xx are tried again this many times, after 100, 200, 400 ms. */
const RETRIES = 3;

export class SchemaRegistry {
  readonly url: string;
  readonly #userAgent: string;

  constructor(url: string, clientId = "certstream") {
    this.url = url.replace(/\/+$/, "");
    this.#userAgent = clientId;
  }

  /**
   * Sets `subject`'s compatibility, then registers the Avro schema under it and returns its id (idempotent: the
   * same schema gets the same id). A schema the compatibility rule refuses is the registry's 409.
   */
  async register(subject: string, schemaText: string, compatibility: Compatibility): Promise<number> {
    const s = encodeURIComponent(subject);
    await this.#call("PUT", `/config/${s}`, { compatibility });
    const body = await this.#call("POST", `/subjects/${s}/versions`, {
      schema: schemaText,
      schemaType: "AVRO",
    });
    const id = (body as { id?: unknown }).id;
    if (typeof id !== "number")
      throw new SchemaRegistryError(`schema registry: register ${subject} answered without an id`, 200);
    return id;
  }

  /** The Avro schema registered with `id`. */
  async schema(id: number): Promise<avro.Schema> {
    const body = (await this.#call("GET", `/schemas/ids/${id}`)) as { schema?: unknown };
    if (typeof body.schema !== "string")
      throw new SchemaRegistryError(`schema registry: schema ${id} answered without a schema`, 200);
    return JSON.parse(body.schema) as avro.Schema;
  }

  async #call(method: string, path: string, body?: object): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpAnswer;
      try {
        res = await trackSchemaRegistryCall(
          httpRequest(`${this.url}${path}`, {
            method,
            headers: { "content-type": JSON_CT, accept: JSON_CT, "user-agent": this.#userAgent },
            body: body === undefined ? undefined : JSON.stringify(body),
          }),
        );
      } catch (err) {
        if (attempt < RETRIES) {
          await backoff(attempt);
          continue;
        }
        throw new SchemaRegistryError(`schema registry: ${method} ${this.url}${path}: unreachable`, 0, {
          cause: err,
        });
      }
      const text = res.text;
      if (res.status >= 500 && attempt < RETRIES) {
        await backoff(attempt);
        continue;
      }
      if (res.status < 200 || res.status > 299)
        throw new SchemaRegistryError(
          `schema registry: ${method} ${path} → ${res.status} ${text.slice(0, 500)}`,
          res.status,
        );
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new SchemaRegistryError(`schema registry: ${method} ${path} answered no JSON`, res.status, {
          cause: err,
        });
      }
    }
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
}
