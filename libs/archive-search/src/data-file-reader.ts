import type { FileHandle } from "node:fs/promises";
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
 * Open data files of local tables, least recently used closed past the bound: a search makes tens of small
 * reads per file, and an open/close around each cost more than the reads. Data files never change; one removed
 * by vacuum stays readable through its open handle until evicted.
 */
const handles = new Map<string, Promise<FileHandle>>();
const MAX_HANDLES = 256;

function handle(abs: string): Promise<FileHandle> {
  let h = handles.get(abs);
  if (h) {
    handles.delete(abs);
    handles.set(abs, h);
    return h;
  }
  h = open(abs, "r");
  h.catch(() => handles.delete(abs));
  handles.set(abs, h);
  while (handles.size > MAX_HANDLES) {
    const [oldest, p] = handles.entries().next().value as [string, Promise<FileHandle>];
    handles.delete(oldest);
    p.then((fh) => fh.close()).catch(() => {});
  }
  return h;
}

/**
 * Small ranges kept in memory, least recently used dropped past a total: a row group's offset indexes (~25 KiB,
 * read again by every search touching the row group: half of a search's reads were these) and data pages (16 KiB
 * before compression). Bounded by total bytes.
 */
const smallRanges = new Map<string, ArrayBuffer>();
const SMALL_RANGE_MAX = 64 * 1024;
const SMALL_RANGES_BYTES = 64 * 1024 * 1024;
let smallRangesBytes = 0;

function rememberSmall(key: string, buf: ArrayBuffer): void {
  smallRanges.set(key, buf);
  smallRangesBytes += buf.byteLength;
  while (smallRangesBytes > SMALL_RANGES_BYTES) {
    const [oldest, b] = smallRanges.entries().next().value as [string, ArrayBuffer];
    smallRanges.delete(oldest);
    smallRangesBytes -= b.byteLength;
  }
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
  let read: ((start: number, stop: number) => Promise<ArrayBuffer>) | null = null;
  let keyPrefix = "";
  if (storage instanceof LocalStorage) {
    const abs = join(storage.root, ...path.split("/"));
    keyPrefix = abs;
    read = async (start, stop) => {
      const buf = new Uint8Array(stop - start);
      const fh = await handle(abs);
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await fh.read(buf, at, buf.length - at, start + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return buf.buffer;
    };
  } else if (hasRange(storage)) {
    keyPrefix = `${storage.location}/${path}`;
    read = async (start, stop) => toArrayBuffer(await storage.getRange(path, start, stop));
  }
  if (read !== null) {
    const fetchRange = read;
    return {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = end ?? size;
        const small = stop - start <= SMALL_RANGE_MAX;
        const key = small ? `${keyPrefix}:${start}:${stop}` : "";
        if (small) {
          const hit = smallRanges.get(key);
          // A copy: hyparquet may keep views of what it is given.
          if (hit) return hit.slice(0);
        }
        const buf = await fetchRange(start, stop);
        counter.bytes += buf.byteLength;
        counter.requests++;
        if (small) rememberSmall(key, buf.slice(0));
        return buf;
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
