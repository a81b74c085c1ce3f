import { compressors } from "@certstream/delta";
import type {
  AsyncBuffer,
  ColumnChunk,
  ColumnMetaData,
  CompressionCodec,
  DataReader,
  FileMetaData,
  PageHeader,
  RowGroup,
  SchemaElement,
} from "hyparquet";
import { readOffsetIndex } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { decompressPage } from "hyparquet/src/datapage.js";
import { readRleBitPackedHybrid } from "hyparquet/src/encoding.js";
import { PARSERS } from "./data-file-footer.ts";

/**
 * Reads the values of a few rows of one column, decoding only those rows. hyparquet decodes every value of each
 * page it reads (strings made, lists assembled), and a search wants one or two rows of a ~1,000-row page of each of
 * 26 result columns: that was most of a query's CPU. Here a page is decompressed, its levels decoded (cheap: small
 * integers) and its PLAIN values skipped over by length until the wanted ones, which alone become strings.
 *
 * Handles what our writers produce: data pages v1 and v2, PLAIN values of BYTE_ARRAY (strings or bytes), INT32,
 * INT64 (plain or a timestamp), BOOLEAN, DOUBLE and FLOAT, or indices into a PLAIN dictionary page (the sink's
 * files), flat or in a list of them (three-level LIST), with the offset index. Anything else returns null and the
 * caller reads with hyparquet. The values match hyparquet's with our parsers (timestamps as µs numbers, INT64 as
 * bigint; a null list is null where hyparquet says undefined).
 */
export async function readColumnRows(
  file: AsyncBuffer,
  metadata: FileMetaData,
  rowGroupStarts: readonly number[],
  column: string,
  rows: readonly number[],
): Promise<unknown[] | null> {
  const leaf = leafOf(metadata.schema, column);
  if (leaf === null) return null;
  // The row groups holding wanted rows, with their rows; then their offset indexes and pages, each step for all
  // at once (on S3 each read is a round trip, and a range of rows can span row groups).
  const groups: { g: number; rows: number[] }[] = [];
  for (let i = 0, g = 0; i < rows.length; i++) {
    while (g + 1 < rowGroupStarts.length - 1 && rows[i] >= rowGroupStarts[g + 1]) g++;
    if (rows[i] >= rowGroupStarts[g + 1]) return null; // past the last row
    if (groups.length === 0 || groups[groups.length - 1].g !== g) groups.push({ g, rows: [] });
    groups[groups.length - 1].rows.push(rows[i] - rowGroupStarts[g]);
  }
  const chunks = groups.map(({ g }) =>
    metadata.row_groups[g].columns.find((c) => c.meta_data?.path_in_schema[0] === column),
  );
  if (chunks.some((c) => !c?.meta_data)) return null;
  const locations = await Promise.all(
    chunks.map((c, k) => (c ? pageLocations(file, metadata.row_groups[groups[k].g], c) : null)),
  );
  // A dictionary page is not in the offset index: it lies before the first data page (known by the encodings).
  const dictionaries = await Promise.all(
    chunks.map((c, k) => {
      const first = locations[k]?.[0];
      return c?.meta_data && first ? dictionaryOf(file, c.meta_data, Number(first.offset), leaf) : null;
    }),
  );
  const reads: {
    codec: CompressionCodec;
    location: PageLocation;
    wanted: number[];
    dictionary: PlainValues | null;
  }[] = [];
  for (let k = 0; k < groups.length; k++) {
    const pages = locations[k];
    const codec = chunks[k]?.meta_data?.codec;
    const dictionary = dictionaries[k];
    if (!pages || !codec || dictionary === undefined) return null;
    const { g, rows: local } = groups[k];
    const groupRows = rowGroupStarts[g + 1] - rowGroupStarts[g];
    let p = 0;
    for (const r of local) {
      while (p + 1 < pages.length && Number(pages[p + 1].first_row_index) <= r) p++;
      const first = Number(pages[p].first_row_index);
      const last = reads[reads.length - 1];
      if (last?.location === pages[p]) last.wanted.push(r - first);
      else reads.push({ codec, location: pages[p], wanted: [r - first], dictionary });
      if (r >= (p + 1 < pages.length ? Number(pages[p + 1].first_row_index) : groupRows)) return null;
    }
  }
  const fetched = await Promise.all(
    reads.map(({ location }) => {
      const start = Number(location.offset);
      return file.slice(start, start + location.compressed_page_size);
    }),
  );
  const out: unknown[] = [];
  for (let k = 0; k < reads.length; k++) {
    const { codec, wanted, dictionary } = reads[k];
    const values = pickRows(new Uint8Array(fetched[k]), codec, leaf, wanted, dictionary);
    if (values === null) return null;
    for (const v of values) out.push(v);
  }
  return out.length === rows.length ? out : null;
}

/** The leaf of a top-level column and its levels: flat, or a three-level LIST of a primitive. */
interface Leaf {
  element: SchemaElement;
  maxDef: number;
  maxRep: number;
  list: boolean;
  /** Definition level at which the column itself is present (0 when required). */
  presentDef: number;
  /** Definition level of a present element of a list (or a present flat value). */
  valueDef: number;
}

function leafOf(schema: SchemaElement[], column: string): Leaf | null {
  let i = 1;
  while (i < schema.length && schema[i].name !== column) i += 1 + descendants(schema, i);
  const top = schema[i];
  if (!top) return null;
  const leaf = top.num_children ? schema[i + 2] : top;
  if (!leaf || !readable(leaf)) return null;
  const optional = (e: SchemaElement): number => (e.repetition_type === "REQUIRED" ? 0 : 1);
  if (!top.num_children)
    return {
      element: top,
      maxDef: optional(top),
      maxRep: 0,
      list: false,
      presentDef: optional(top),
      valueDef: optional(top),
    };
  const repeated = schema[i + 1];
  const element = schema[i + 2];
  if (
    top.num_children !== 1 ||
    repeated?.repetition_type !== "REPEATED" ||
    repeated.num_children !== 1 ||
    element?.num_children
  )
    return null;
  const presentDef = optional(top);
  const maxDef = presentDef + 1 + optional(element);
  return { element, maxDef, maxRep: 1, list: true, presentDef, valueDef: maxDef };
}

/** Physical and logical types whose values we decode exactly as hyparquet does. */
function readable(e: SchemaElement): boolean {
  const t = e.type;
  if (
    t !== "BYTE_ARRAY" &&
    t !== "INT32" &&
    t !== "INT64" &&
    t !== "BOOLEAN" &&
    t !== "FLOAT" &&
    t !== "DOUBLE"
  )
    return false;
  const logical = e.logical_type?.type;
  if (logical !== undefined && logical !== "STRING" && !(logical === "TIMESTAMP" && t === "INT64"))
    return false;
  const converted = e.converted_type;
  return (
    converted === undefined ||
    converted === "UTF8" ||
    (t === "INT64" && (converted === "TIMESTAMP_MICROS" || converted === "TIMESTAMP_MILLIS"))
  );
}

function descendants(schema: SchemaElement[], i: number): number {
  let n = 0;
  for (let k = 0; k < (schema[i].num_children ?? 0); k++) n += 1 + descendants(schema, i + 1 + n);
  return n;
}

type PageLocation = { offset: bigint; compressed_page_size: number; first_row_index: bigint };

/**
 * A column chunk's page locations. The offset indexes of a row group's columns lie together in the file: they are
 * read as one range (cached by the reader, data-file-reader.ts), not one request per column; on S3 a search's
 * first touch of a row group then costs one round trip instead of one per column.
 */
async function pageLocations(
  file: AsyncBuffer,
  rowGroup: RowGroup,
  chunk: ColumnChunk,
): Promise<PageLocation[] | null> {
  if (chunk.offset_index_offset === undefined || chunk.offset_index_length === undefined) return null;
  const start = Number(chunk.offset_index_offset);
  const end = start + chunk.offset_index_length;
  let lo = start;
  let hi = end;
  for (const c of rowGroup.columns) {
    if (c.offset_index_offset === undefined || c.offset_index_length === undefined) continue;
    lo = Math.min(lo, Number(c.offset_index_offset));
    hi = Math.max(hi, Number(c.offset_index_offset) + c.offset_index_length);
  }
  // Not together (another writer's layout): this chunk's own range.
  if (hi - lo > MAX_INDEX_SPAN) [lo, hi] = [start, end];
  const span = await file.slice(lo, hi);
  const view = new DataView(span, start - lo, end - start);
  return readOffsetIndex({ view, offset: 0 }).page_locations as PageLocation[];
}

/** Offset indexes of a row group read together up to this size (ours: ~25 KiB for 16,384 rows). */
const MAX_INDEX_SPAN = 256 * 1024;

const utf8 = new TextDecoder();

/** The values of rows `wanted` (ascending, page-relative) of one page, or null if it is not a page we read. */
function pickRows(
  bytes: Uint8Array,
  codec: CompressionCodec,
  leaf: Leaf,
  wanted: number[],
  dictionary: PlainValues | null,
): unknown[] | null {
  const reader: DataReader = {
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    offset: 0,
  };
  const header: PageHeader = parquetHeader(reader);
  const body = bytes.subarray(reader.offset);
  let numValues: number;
  let levels: DataReader;
  let values: DataReader;
  let repLength: number | undefined;
  let defLength: number | undefined;
  let encoding: string;
  if (header.type === "DATA_PAGE" && header.data_page_header) {
    encoding = header.data_page_header.encoding;
    numValues = header.data_page_header.num_values;
    const page = decompressPage(body, header.uncompressed_page_size, codec, compressors);
    levels = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
    values = levels;
  } else if (header.type === "DATA_PAGE_V2" && header.data_page_header_v2) {
    const h = header.data_page_header_v2;
    encoding = h.encoding;
    numValues = h.num_values;
    repLength = h.repetition_levels_byte_length;
    defLength = h.definition_levels_byte_length;
    const levelBytes = repLength + defLength;
    levels = { view: new DataView(body.buffer, body.byteOffset, levelBytes), offset: 0 };
    const compressed = body.subarray(levelBytes);
    const page =
      h.is_compressed === false
        ? compressed
        : decompressPage(compressed, header.uncompressed_page_size - levelBytes, codec, compressors);
    values = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
  } else {
    return null;
  }
  const rep = new Uint8Array(numValues);
  const def = new Uint8Array(numValues);
  if (leaf.maxRep > 0) readRleBitPackedHybrid(levels, bitWidth(leaf.maxRep), rep, repLength);
  if (leaf.maxDef > 0) readRleBitPackedHybrid(levels, bitWidth(leaf.maxDef), def, defLength);
  else def.fill(0);
  if (leaf.maxRep > 0 && numValues > 0 && rep[0] !== 0) return null; // a row continued from the previous page
  const valueDef = leaf.valueDef;
  let read: (index: number) => unknown;
  if (encoding === "PLAIN") {
    const plain = new PlainValues(values.view, values.offset, leaf.element);
    read = (index) => plain.get(index);
  } else if ((encoding === "RLE_DICTIONARY" || encoding === "PLAIN_DICTIONARY") && dictionary !== null) {
    // The values are indices into the dictionary: a bit width, then the RLE/bit-packed hybrid, unprefixed.
    let storedCount = 0;
    for (let k = 0; k < numValues; k++) if (def[k] === valueDef) storedCount++;
    const indices = new Int32Array(storedCount);
    const width = values.view.getUint8(values.offset);
    values.offset++;
    if (width > 0 && storedCount > 0)
      readRleBitPackedHybrid(values, width, indices, values.view.byteLength - values.offset);
    read = (index) => dictionary.get(indices[index]);
  } else {
    return null;
  }
  const out: unknown[] = [];
  let row = -1;
  let w = 0;
  let current: unknown[] | null = null;
  let stored = 0; // values stored before entry k
  for (let k = 0; k < numValues && w < wanted.length; k++) {
    if (rep[k] === 0) {
      if (current !== null) {
        out.push(current);
        current = null;
        w++;
        if (w >= wanted.length) break;
      }
      row++;
    }
    const d = def[k];
    if (row === wanted[w]) {
      if (!leaf.list) {
        out.push(d === valueDef ? read(stored) : null);
        w++;
      } else if (d < leaf.presentDef) {
        out.push(null);
        w++;
      } else {
        current ??= [];
        if (d === valueDef) current.push(read(stored));
        else if (d > leaf.presentDef) current.push(null);
      }
    }
    if (d === valueDef) stored++;
  }
  if (current !== null) {
    out.push(current);
    w++;
  }
  return w === wanted.length ? out : null;
}

/**
 * PLAIN values of one column in a buffer, read by index. BYTE_ARRAY values are found by walking their lengths;
 * the starts walked are kept, so a dictionary read in any order walks each value once.
 */
class PlainValues {
  readonly #view: DataView;
  readonly #base: number;
  readonly #element: SchemaElement;
  readonly #fixed: number;
  readonly #starts: number[] = [];

  constructor(view: DataView, base: number, element: SchemaElement) {
    this.#view = view;
    this.#base = base;
    this.#element = element;
    this.#fixed = fixedWidth(element.type);
    this.#starts.push(base);
  }

  get(index: number): unknown {
    const view = this.#view;
    if (this.#fixed > 0) return fixedValue(view, this.#base, index, this.#element);
    if (this.#element.type === "BOOLEAN")
      return ((view.getUint8(this.#base + (index >> 3)) >> (index & 7)) & 1) === 1;
    const starts = this.#starts;
    while (starts.length <= index) {
      const at = starts[starts.length - 1];
      starts.push(at + 4 + view.getUint32(at, true));
    }
    const at = starts[index];
    const raw = new Uint8Array(view.buffer, view.byteOffset + at + 4, view.getUint32(at, true));
    return isString(this.#element) ? utf8.decode(raw) : raw.slice();
  }
}

/**
 * The dictionary of a column chunk (null when it has none; undefined when it has one this module cannot read). It
 * is the one page between the chunk's start and its first data page.
 */
async function dictionaryOf(
  file: AsyncBuffer,
  meta: ColumnMetaData,
  firstDataPage: number,
  leaf: Leaf,
): Promise<PlainValues | null | undefined> {
  if (!meta.encodings.some((e) => e.endsWith("DICTIONARY"))) return null;
  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
  if (start >= firstDataPage) return undefined;
  const bytes = new Uint8Array(await file.slice(start, firstDataPage));
  const reader: DataReader = {
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    offset: 0,
  };
  const header: PageHeader = parquetHeader(reader);
  const encoding = header.dictionary_page_header?.encoding;
  if (header.type !== "DICTIONARY_PAGE" || (encoding !== "PLAIN" && encoding !== "PLAIN_DICTIONARY"))
    return undefined;
  const body = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
  const page = decompressPage(body, header.uncompressed_page_size, meta.codec, compressors);
  return new PlainValues(new DataView(page.buffer, page.byteOffset, page.byteLength), 0, leaf.element);
}

function bitWidth(max: number): number {
  return 32 - Math.clz32(max);
}

function fixedWidth(type: SchemaElement["type"]): number {
  return type === "INT32" || type === "FLOAT" ? 4 : type === "INT64" || type === "DOUBLE" ? 8 : 0;
}

function isString(e: SchemaElement): boolean {
  return e.converted_type === "UTF8" || e.logical_type?.type === "STRING";
}

/** A fixed-width value as hyparquet returns it with our parsers (data-file-footer.ts PARSERS). */
function fixedValue(view: DataView, base: number, index: number, e: SchemaElement): unknown {
  switch (e.type) {
    case "INT32":
      return view.getInt32(base + index * 4, true);
    case "FLOAT":
      return view.getFloat32(base + index * 4, true);
    case "DOUBLE":
      return view.getFloat64(base + index * 8, true);
    default: {
      const v = view.getBigInt64(base + index * 8, true);
      const unit =
        e.logical_type?.type === "TIMESTAMP"
          ? e.logical_type.unit
          : e.converted_type === "TIMESTAMP_MICROS"
            ? "MICROS"
            : e.converted_type === "TIMESTAMP_MILLIS"
              ? "MILLIS"
              : null;
      // The search's own conversions (µs numbers), as hyparquet applies them.
      if (unit === "MICROS") return PARSERS.timestampFromMicroseconds?.(v);
      if (unit === "MILLIS") return PARSERS.timestampFromMilliseconds?.(v);
      if (unit === "NANOS") return PARSERS.timestampFromNanoseconds?.(v);
      return v;
    }
  }
}
