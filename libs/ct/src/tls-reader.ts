import { CtParseError, type CtParseErrorKind } from "./errors.ts";

/**
 * A bounds-checked reader for the TLS presentation language (RFC 8446 §3) used by RFC 6962 and
 * c2sp.org/static-ct-api structures: big-endian uintN and length-prefixed opaque vectors.
 * A short read throws CtParseError with `truncatedKind` and the "<struct>.<field> truncated" message.
 * Vectors are returned as subarrays (no copy).
 */
export class TlsReader {
  readonly #buf: Uint8Array;
  readonly #structName: string;
  readonly #truncatedKind: CtParseErrorKind;
  #pos: number;

  constructor(buf: Uint8Array, structName: string, truncatedKind: CtParseErrorKind, offset = 0) {
    this.#buf = buf;
    this.#structName = structName;
    this.#truncatedKind = truncatedKind;
    this.#pos = offset;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  // The message is built only on failure: field names are constants, so the happy path allocates nothing.
  #need(n: number, field: string, ofLength = false): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) {
      const name = ofLength ? `${field} length` : field;
      throw new CtParseError(
        this.#truncatedKind,
        `${this.#structName}.${name} truncated: needs ${n} bytes at offset ${at}, ${this.#buf.length - at} left`,
      );
    }
    this.#pos = at + n;
    return at;
  }

  uint8(field: string): number {
    return this.#buf[this.#need(1, field)];
  }

  uint16(field: string, ofLength = false): number {
    const at = this.#need(2, field, ofLength);
    return (this.#buf[at] << 8) | this.#buf[at + 1];
  }

  uint24(field: string, ofLength = false): number {
    const at = this.#need(3, field, ofLength);
    return (this.#buf[at] << 16) | (this.#buf[at + 1] << 8) | this.#buf[at + 2];
  }

  /** uint64 as a number: exact below 2^53 (timestamps in ms, leaf indexes). */
  uint64(field: string): number {
    const at = this.#need(8, field);
    const b = this.#buf;
    const hi = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
    const lo = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
    return hi * 0x1_0000_0000 + lo;
  }

  /** opaque field[n] */
  fixed(n: number, field: string): Uint8Array {
    const at = this.#need(n, field);
    return this.#buf.subarray(at, at + n);
  }

  /** opaque field<0..2^16-1> */
  vector16(field: string): Uint8Array {
    return this.fixed(this.uint16(field, true), field);
  }

  /** opaque field<0..2^24-1> */
  vector24(field: string): Uint8Array {
    return this.fixed(this.uint24(field, true), field);
  }
}
