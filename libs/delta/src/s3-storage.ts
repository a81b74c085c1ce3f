import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { Storage, StoredObject } from "./storage.ts";

/**
 * A Delta table in an S3-compatible bucket, under `prefix` (no leading or trailing "/"; "" for the bucket root).
 *
 * - putIfAbsent is a PutObject with `If-None-Match: *` (AWS S3 since 2024-08, MinIO, R2, GCS's S3 API, SeaweedFS):
 *   412 means another writer has that key (a lost race). Because the SDK retries a request whose answer was lost
 *   (timeout, 5xx), a 412 can also be our own earlier attempt: then the object holds exactly our bytes, and that
 *   is checked before reporting a lost race (a commit is never written twice under two versions).
 * - put writes one PutObject below `multipartThresholdBytes`, else a multipart upload (aborted on failure, so no
 *   parts are left billed); objects appear atomically either way.
 * - list uses ListObjectsV2 (paged), with StartAfter when asked, so a long `_delta_log` is listed from a
 *   checkpoint on rather than from version 0.
 * - Retries: the SDK's standard mode (exponential backoff with full jitter on 5xx, throttling and network errors,
 *   `maxAttempts` in all); 412 and other 4xx are never retried.
 * - Credentials: the SDK's default chain (environment, shared profile, web identity for Kubernetes service
 *   accounts, container/instance metadata) unless given.
 */
export interface S3StorageOptions {
  bucket: string;
  prefix?: string;
  /** Passed to S3Client: region, endpoint, forcePathStyle, credentials, maxAttempts... */
  client?: S3ClientConfig;
  /** Objects at least this large go up as multipart uploads. Default 64 MiB (S3's minimum part size is 5 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads. Default 16 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once. Default 4. */
  partConcurrency?: number;
}

const MiB = 1024 * 1024;

/** The error fields the SDK sets on a service error (S3ServiceException). */
interface ServiceErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(err: unknown): number | undefined {
  return (err as ServiceErrorShape | null)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const e = err as ServiceErrorShape | null;
  return statusOf(err) === 404 || e?.name === "NoSuchKey" || e?.name === "NotFound";
}

function isPreconditionFailed(err: unknown): boolean {
  const e = err as ServiceErrorShape | null;
  return statusOf(err) === 412 || e?.name === "PreconditionFailed";
}

/** 409 ConditionalRequestConflict: another conditional write of the key is in flight; AWS says retry. */
function isConditionalConflict(err: unknown): boolean {
  const e = err as ServiceErrorShape | null;
  return (
    statusOf(err) === 409 &&
    (e?.name === "ConditionalRequestConflict" || e?.Code === "ConditionalRequestConflict")
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

export class S3Storage implements Storage {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #partConcurrency: number;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
    this.client = new S3Client({ maxAttempts: 5, retryMode: "standard", ...options.client });
    this.#partSize = Math.max(5 * MiB, options.partSizeBytes ?? 16 * MiB);
    this.#threshold = Math.max(this.#partSize, options.multipartThresholdBytes ?? 64 * MiB);
    this.#partConcurrency = Math.max(1, options.partConcurrency ?? 4);
  }

  /** The object key of a table-relative path. */
  key(path: string): string {
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  async putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean> {
    const key = this.key(path);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, IfNoneMatch: "*" }),
        );
        return true;
      } catch (err) {
        if (isConditionalConflict(err) && attempt < 5) {
          await new Promise((r) => setTimeout(r, Math.random() * 50 * 2 ** attempt));
          continue;
        }
        if (!isPreconditionFailed(err)) throw err;
        // Someone has the key; if it holds our exact bytes, that someone was us (a retried request).
        const there = await this.get(path);
        return there !== null && sameBytes(there, bytes);
      }
    }
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    const key = this.key(path);
    if (bytes.byteLength < this.#threshold) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes }));
      return;
    }
    await this.#multipart(key, bytes);
  }

  async #multipart(key: string, bytes: Uint8Array): Promise<void> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 CreateMultipartUpload for ${key} returned no UploadId`);
    try {
      const count = Math.ceil(bytes.byteLength / this.#partSize);
      const etags: string[] = new Array(count);
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const i = next++;
          const body = bytes.subarray(
            i * this.#partSize,
            Math.min(bytes.byteLength, (i + 1) * this.#partSize),
          );
          const r = await this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: i + 1,
              Body: body,
            }),
          );
          if (!r.ETag) throw new Error(`S3 UploadPart ${i + 1} of ${key} returned no ETag`);
          etags[i] = r.ETag;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#partConcurrency, count) }, worker));
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch(() => {});
      throw err;
    }
  }

  async get(path: string): Promise<Uint8Array | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      if (!r.Body) return new Uint8Array(0);
      return await r.Body.transformToByteArray();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Bytes [start, end) of `path` (an HTTP Range read): Parquet footers and single column chunks. */
  async getRange(path: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const r = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path), Range: `bytes=${start}-${end - 1}` }),
    );
    if (!r.Body) return new Uint8Array(0);
    return r.Body.transformToByteArray();
  }

  /** Size of `path` in bytes, or null when absent. */
  async size(path: string): Promise<number | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return r.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async list(
    prefix: string,
    recursive = false,
    options: { startAfter?: string } = {},
  ): Promise<StoredObject[]> {
    const base = this.prefix ? `${this.prefix}/` : "";
    const dir = prefix === "" ? base : `${base}${prefix.replace(/\/+$/, "")}/`;
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: dir,
          Delimiter: recursive ? undefined : "/",
          ContinuationToken: token,
          StartAfter: token === undefined && options.startAfter ? `${base}${options.startAfter}` : undefined,
        }),
      );
      for (const o of r.Contents ?? []) {
        if (!o.Key || o.Key.endsWith("/")) continue;
        out.push({
          path: o.Key.slice(base.length),
          size: o.Size ?? 0,
          modificationTime: o.LastModified ? o.LastModified.getTime() : 0,
        });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(path: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
  }
}
