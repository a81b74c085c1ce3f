// Cheaper kafkajs record encoding for the ingester's producers, the same bytes on the wire.
//
// Why: a CPU profile of the ingest benchmark (one replica, 20 000 entries → entries → certs) showed the replica
// ~85 % busy, and most of it in kafkajs' produce path, not in parsing or Avro:
//   * Buffer allocation ~23 % (FastBuffer): every record header and every record starts as a zero-filled,
//     unpooled Buffer.alloc(512), and every growth re-allocates zero-filled;
//   * CRC-32C of the record batches ~11 %: a byte-at-a-time JS loop;
//   * garbage collection ~15 %, mostly of those buffers.
// This module (applied once, before the first produce) makes kafkajs
//   1. grow its encoders with Buffer.allocUnsafe (every byte up to `offset` is written before it is read:
//      `Encoder.buffer` is `buf.slice(0, offset)`);
//   2. encode a record (v2 format, with its headers) into one exact-size slice of a 1 MiB slab, instead of one
//      512-byte zeroed buffer per header plus one (regrown) for the record;
//   3. size a record batch once for all its records (kafkajs grows it by doubling, copying each time);
//   4. compute CRC-32C slicing-by-8 (about 4–5× faster in JS than the byte-wise table).
// kafkajs loads its produce request, record and record-batch modules lazily on the first produce: replacing
// them in the CommonJS cache before that is enough. If they are already loaded (something produced first), the
// patch is not applied and `applyKafkajsFastEncoding` says so; nothing is half-patched.
// test/kafkajs-fast-encoding.test.ts checks the bytes against kafkajs' own encoders.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  writeEncoderArray(value: unknown): KafkajsEncoder;
  writeInt8(v: number): KafkajsEncoder;
  writeVarInt(v: number): KafkajsEncoder;
  writeVarLong(v: unknown): KafkajsEncoder;
  writeVarIntBytes(v: unknown): KafkajsEncoder;
  writeVarIntString(v: string | null): KafkajsEncoder;
}
interface KafkajsEncoderClass {
  prototype: KafkajsEncoder;
  sizeOfVarInt(v: number): number;
  sizeOfVarLong(v: unknown): number;
  sizeOfVarIntBytes(v: unknown): number;
  nextPowerOfTwo(v: number): number;
}

type HeaderValue = Buffer | string | null | undefined;
interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue | HeaderValue[]>;
}

const paths = {
  encoder: require.resolve("kafkajs/src/protocol/encoder.js"),
  record: require.resolve("kafkajs/src/protocol/recordBatch/record/v0/index.js"),
  crc32C: require.resolve("kafkajs/src/protocol/recordBatch/crc32C/index.js"),
  recordBatch: require.resolve("kafkajs/src/protocol/recordBatch/v0/index.js"),
  produceV3: require.resolve("kafkajs/src/protocol/requests/produce/v3/request.js"),
};

/** kafkajs' own modules (for the byte-equality test). */
export function kafkajsOriginals(): {
  record: (r: RecordInput) => KafkajsEncoder;
  crc32C: (b: Buffer) => number;
} {
  return { record: originalRecord(), crc32C: originalCrc32C() };
}

let originals: { record: (r: RecordInput) => KafkajsEncoder; crc32C: (b: Buffer) => number } | null = null;
function originalRecord(): (r: RecordInput) => KafkajsEncoder {
  originals ??= { record: require(paths.record), crc32C: require(paths.crc32C) };
  return originals.record;
}
function originalCrc32C(): (b: Buffer) => number {
  originals ??= { record: require(paths.record), crc32C: require(paths.crc32C) };
  return originals.crc32C;
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8 tables.
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff] ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/** CRC-32C of `buf`, unsigned (what kafkajs' recordBatch/crc32C module returns). */
export function crc32c(buf: Uint8Array): number {
  let crc = ~0;
  let i = 0;
  const len = buf.length;
  for (const end = len - (len % 8); i < end; i += 8) {
    crc ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    crc =
      T[1792 + (crc & 0xff)] ^
      T[1536 + ((crc >>> 8) & 0xff)] ^
      T[1280 + ((crc >>> 16) & 0xff)] ^
      T[1024 + (crc >>> 24)] ^
      T[768 + buf[i + 4]] ^
      T[512 + buf[i + 5]] ^
      T[256 + buf[i + 6]] ^
      T[buf[i + 7]];
  }
  for (; i < len; i++) crc = T[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ ~0) >>> 0;
}

// Records are short-lived (copied into their record batch within the same request encoding), and most are
// larger than Buffer's own pool takes (4 KiB): each would be a fresh ArrayBuffer, which costs far more than the
// copy (allocation plus GC of external memory). They are carved out of 1 MiB slabs instead; a slab is freed once
// the records cut from it are dropped, so nothing long-lived pins one.
const SLAB_BYTES = 1 << 20;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

function slabBuffer(size: number): Buffer {
  if (size > SLAB_BYTES >>> 3) return Buffer.allocUnsafe(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7;
  return b;
}

/** A kafkajs Encoder over a slab buffer of exactly `size` bytes, without kafkajs' zero-filled 512. */
function encoderOf(Encoder: KafkajsEncoderClass, size: number): KafkajsEncoder {
  const e = Object.create(Encoder.prototype) as KafkajsEncoder;
  e.buf = slabBuffer(Math.max(1, size));
  e.offset = 0;
  return e;
}

/** kafkajs recordBatch/record/v0, written into one buffer of the exact size (same bytes). */
function makeRecordEncoder(Encoder: KafkajsEncoderClass): (r: RecordInput) => KafkajsEncoder {
  return ({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }) => {
    const flat: { key: string; value: HeaderValue }[] = [];
    for (const k of Object.keys(headers)) {
      const v = headers[k];
      if (Array.isArray(v)) for (const x of v) flat.push({ key: k, value: x });
      else flat.push({ key: k, value: v });
    }
    let headersSize = Encoder.sizeOfVarInt(flat.length);
    for (const h of flat) {
      const keySize = Buffer.byteLength(h.key);
      headersSize += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarIntBytes(h.value);
    }
    const sizeOfBody =
      1 +
      Encoder.sizeOfVarLong(timestampDelta) +
      Encoder.sizeOfVarInt(offsetDelta) +
      Encoder.sizeOfVarIntBytes(key) +
      Encoder.sizeOfVarIntBytes(value) +
      headersSize;
    const e = encoderOf(Encoder, Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody);
    e.writeVarInt(sizeOfBody)
      .writeInt8(0) // no record attributes
      .writeVarLong(timestampDelta)
      .writeVarInt(offsetDelta)
      .writeVarIntBytes(key)
      .writeVarIntBytes(value)
      .writeVarInt(flat.length);
    // kafkajs' Header v0: VarInt|String key, VarInt|Bytes value.
    for (const h of flat) e.writeVarIntString(h.key).writeVarIntBytes(h.value);
    return e;
  };
}

let applied: boolean | null = null;

/**
 * Applies the faster encoding to kafkajs in this process (idempotent). Returns false, changing nothing, when
 * kafkajs' produce path was already loaded (call it before the first produce).
 */
export function applyKafkajsFastEncoding(): boolean {
  if (applied !== null) return applied;
  if (require.cache[paths.produceV3] || require.cache[paths.recordBatch]) {
    applied = false;
    return applied;
  }
  const Encoder = require(paths.encoder) as KafkajsEncoderClass;
  // Load kafkajs' originals (kept for the test), then put ours in the module cache in their place.
  originalRecord();
  originalCrc32C();
  Encoder.prototype.ensureAvailable = function ensureAvailable(this: KafkajsEncoder, length: number) {
    if (this.offset + length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }
  };
  // A record batch copies its records in one by one, growing by doubling (a dozen re-allocations and copies
  // for a 1 MB batch): size it once instead. Same bytes, same validation.
  Encoder.prototype.writeEncoderArray = function writeEncoderArray(this: KafkajsEncoder, value: unknown) {
    if (!Array.isArray(value) || value.some((v) => v == null || !Buffer.isBuffer(v.buf))) {
      throw new Error("all values should be an instance of Encoder[]");
    }
    const parts = value as KafkajsEncoder[];
    let total = 0;
    for (const v of parts) total += v.offset;
    this.ensureAvailable(total);
    for (const v of parts) {
      v.buf.copy(this.buf, this.offset, 0, v.offset);
      this.offset += v.offset;
    }
    return this;
  };
  const recordModule = require.cache[paths.record];
  const crcModule = require.cache[paths.crc32C];
  if (!recordModule || !crcModule) {
    applied = false;
    return applied;
  }
  recordModule.exports = makeRecordEncoder(Encoder);
  crcModule.exports = crc32c;
  applied = true;
  return applied;
}
