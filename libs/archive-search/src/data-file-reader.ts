import { open } from "node:fs/promises";
import { join } from "node:path";
import type { Storage } from "@certstream/delta";
import { LocalStorage } from "@certstream/delta";
import type { AsyncBuffer } from "hyparquet";

/** A storage that can read part of an object (S3 `Range`, a file's pread). Optional on Storage. */
interface RangeStorage {
  getRange(path: string, start: number, end: number): Promise<Uint8Array>;
  size?(path: string): Promise<number | null>;
}

function hasRange(s: Storage): s is Storage & RangeStorage {
  return typeof (s as Partial<RangeStorage>).getRange === "function";
}

/** Counts what a search read, for the response's stats and the bytes-read metric. */
export class ReadCounter {
  bytes = 0;
  requests = 0;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
    ? (b.buffer as ArrayBuffer)
    : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
}

/**
 * A hyparquet AsyncBuffer over one data file that reads only the byte ranges asked for: pread on a local table,
 * the storage's getRange where it has one (S3), else the whole object once (kept for the file's lifetime).
 */
export async function openDataFile(
  storage: Storage,
  path: string,
  size: number,
  counter: ReadCounter,
): Promise<AsyncBuffer> {
  if (storage instanceof LocalStorage) {
    const abs = join(storage.root, ...path.split("/"));
    return {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = end ?? size;
        const buf = new Uint8Array(stop - start);
        const fh = await open(abs, "r");
        try {
          let at = 0;
          while (at < buf.length) {
            const { bytesRead } = await fh.read(buf, at, buf.length - at, start + at);
            if (bytesRead === 0) break;
            at += bytesRead;
          }
        } finally {
          await fh.close();
        }
        counter.bytes += buf.length;
        counter.requests++;
        return buf.buffer;
      },
    };
  }
  if (hasRange(storage)) {
    return {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const b = await storage.getRange(path, start, end ?? size);
        counter.bytes += b.byteLength;
        counter.requests++;
        return toArrayBuffer(b);
      },
    };
  }
  let whole: Promise<Uint8Array> | null = null;
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      if (!whole) {
        whole = storage.get(path).then((b) => {
          if (!b) throw new Error(`data file not found: ${path} (table ${storage.location})`);
          counter.bytes += b.byteLength;
          counter.requests++;
          return b;
        });
      }
      const b = await whole;
      return toArrayBuffer(b.subarray(start, end ?? b.byteLength));
    },
  };
}
