import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

/** One object in a listing. Paths are relative to the table root, always with "/" separators. */
export interface StoredObject {
  path: string;
  size: number;
  /** Milliseconds since the epoch. */
  modificationTime: number;
}

/**
 * What a Delta table needs from the place it lives. Small on purpose: object stores with conditional put
 * (S3 `If-None-Match: *`, GCS `ifGenerationMatch=0`, Azure `If-None-Match`) implement the same four operations.
 */
export interface Storage {
  /** A readable description of the location, for logs and errors. */
  readonly location: string;
  /** Writes `path` only if nothing is there. Returns false when it already exists; never overwrites. */
  putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean>;
  /** Writes `path`, replacing any previous object atomically (readers see old or new, never a part). */
  put(path: string, bytes: Uint8Array): Promise<void>;
  /** The bytes at `path`, or null when absent. */
  get(path: string): Promise<Uint8Array | null>;
  /**
   * Objects directly under `prefix` (a folder, "" for the root) and, with `recursive`, below it. `startAfter`
   * (a table-relative path) lists only paths after it in byte order (S3 ListObjectsV2 StartAfter).
   */
  list(prefix: string, recursive?: boolean, options?: ListOptions): Promise<StoredObject[]>;
  /** Bytes [start, end) of `path` (optional: stores that read ranges cheaply; readers fall back to get). */
  getRange?(path: string, start: number, end: number): Promise<Uint8Array>;
  /** Size of `path` in bytes, or null when absent (optional, with getRange). */
  size?(path: string): Promise<number | null>;
  /** Removes `path`; absent is not an error. */
  delete(path: string): Promise<void>;
}

export interface ListOptions {
  startAfter?: string;
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/**
 * Storage on a local (or network) file system. putIfAbsent writes a temporary file and hard-links it to the
 * final name: link(2) fails with EEXIST if the name exists, which is the atomic "create only" primitive
 * (rename(2) would silently replace).
 */
export class LocalStorage implements Storage {
  readonly root: string;
  readonly location: string;
  /** fsync data before publishing it; on by default so a power cut cannot leave a log entry pointing at garbage. */
  readonly sync: boolean;

  constructor(root: string, options: { sync?: boolean } = {}) {
    this.root = root;
    this.location = root;
    this.sync = options.sync ?? true;
  }

  private abs(path: string): string {
    return join(this.root, ...path.split("/"));
  }

  private async writeTemp(target: string, bytes: Uint8Array): Promise<string> {
    const dir = dirname(target);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomUUID()}`);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      await fh.writeFile(bytes);
      if (this.sync) await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    return tmp;
  }

  async putIfAbsent(path: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.abs(path);
    const tmp = await this.writeTemp(target, bytes);
    try {
      await link(tmp, target);
      return true;
    } catch (err) {
      if (isErrno(err, "EEXIST")) return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    const target = this.abs(path);
    const tmp = await this.writeTemp(target, bytes);
    try {
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async get(path: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.abs(path));
    } catch (err) {
      if (isErrno(err, "ENOENT")) return null;
      throw err;
    }
  }

  async list(prefix: string, recursive = false, options: ListOptions = {}): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, "ENOENT")) return;
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) {
          if (recursive) await walk(full);
          continue;
        }
        if (!e.isFile()) continue;
        try {
          const st = await stat(full);
          out.push({
            path: relative(this.root, full).split(sep).join("/"),
            size: st.size,
            modificationTime: Math.floor(st.mtimeMs),
          });
        } catch (err) {
          // Deleted between readdir and stat (a concurrent vacuum or temp file): not listed.
          if (!isErrno(err, "ENOENT")) throw err;
        }
      }
    };
    await walk(prefix === "" ? this.root : this.abs(prefix));
    const after = options.startAfter;
    return after === undefined ? out : out.filter((o) => o.path > after);
  }

  async delete(path: string): Promise<void> {
    await rm(this.abs(path), { force: true });
  }
}
