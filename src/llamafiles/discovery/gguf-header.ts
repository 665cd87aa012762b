/**
 * Reads a GGUF header (v2/v3, little-endian: what llama.cpp loads) as hostile input: the
 * metadata and the tensor infos, never the weights. Pure: bytes come from a `ByteSource`
 * (a file in gguf-file.ts, a buffer in tests).
 *
 * Bounded whatever the file says: at most `HEADER_LIMITS.headerBytes` are looked at, through
 * one small window; a count or length that cannot fit in what is left of the file is refused
 * before any loop runs; large values (the vocabulary, merges, a chat template) are stepped over
 * by their lengths, not decoded; only small values are kept (`keptEntries` at most).
 */

/** Where the header's bytes come from. */
export interface ByteSource {
  /** The file's size in bytes. */
  size: number;
  /** Fills `target` from `position`; returns the bytes read (fewer only at the end), or the errno of a failed read. */
  read(target: Uint8Array, position: number): number | { errno: string };
}

export const HEADER_LIMITS = {
  /** The largest real headers (256k-token vocabularies with merges) take about 12 MiB. */
  headerBytes: 64 * 2 ** 20,
  /** Keys are dotted names; llama.cpp's longest are under 64 bytes. */
  keyBytes: 1024,
  /** ggml's own limit on a tensor name is 64 bytes. */
  tensorNameBytes: 1024,
  /** ggml tensors have at most 4 dimensions. */
  tensorDims: 8,
  /** Strings longer than this are kept as their length only (a chat template, a license). */
  keptStringBytes: 1024,
  /** Numeric arrays up to this length are kept (per-layer head counts); longer ones as their length. */
  keptArrayItems: 4096,
  /** Metadata entries kept; real files have 20 to 60. */
  keptEntries: 512,
  /** Arrays of arrays: llama.cpp reads none, the format allows them. */
  arrayDepth: 4,
};

/** What stands where a value was too large to keep. */
export interface SkippedValue {
  skipped: "string" | "array";
  /** Bytes of a string, items of an array. */
  length: number;
}

export type GgufValue = number | boolean | string | number[] | SkippedValue;

export interface GgufHeader {
  version: number;
  tensorCount: number;
  /** The metadata entries kept (see HEADER_LIMITS), in file order. */
  metadata: Map<string, GgufValue>;
  /** Where the tensor data begins (the header's size, padded to the alignment). */
  dataStart: number;
  /** Where the data of the tensor stored last begins; a complete file is longer. */
  lastTensorStart: number;
}

/** Why a file's header was not read. */
export type GgufProblem =
  | { code: "not-gguf" }
  | { code: "unsupported-version"; version: number }
  /** The file ends inside the header. */
  | { code: "truncated-header"; fileBytes: number }
  /** A count or length larger than the bytes left to hold it. */
  | { code: "absurd-size"; what: "kv-count" | "tensor-count" | "string" | "array"; claimed: number; room: number }
  | { code: "header-limit"; what: "header-bytes" | "key" | "tensor-name" | "tensor-dims" | "array-depth"; value: number; limit: number }
  | { code: "bad-value-type"; type: number }
  | { code: "bad-alignment"; value: number }
  /** The tensor data stops before the last tensor (an interrupted download). */
  | { code: "incomplete-data"; fileBytes: number; lastTensorStart: number }
  | { code: "read-failed"; errno: string };

export type HeaderResult = { ok: true; header: GgufHeader } | { ok: false; problem: GgufProblem };

const T = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
};
/** Bytes of each fixed-size value type (strings and arrays are not). */
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
/** The fewest bytes an item of each type can take: a string its length, an array its type and count. */
const MIN_SIZE = (type: number) => FIXED_SIZE[type] ?? (type === T.STRING ? 8 : 12);

const WINDOW_BYTES = 256 * 1024;
const DEFAULT_ALIGNMENT = 32;

/** Ends a parse from deep inside the reader; caught by `readGgufHeader`, never leaves this module. */
class Stop {
  problem: GgufProblem;
  constructor(problem: GgufProblem) {
    this.problem = problem;
  }
}

/** A position in the source and a window of bytes around it. */
class Cursor {
  pos = 0;
  private readonly source: ByteSource;
  private readonly window: Uint8Array;
  private readonly view: DataView;
  private windowStart = 0;
  private windowEnd = 0;
  /** Where reading stops: the end of the file or the header limit, whichever comes first. */
  readonly end: number;
  private readonly decoder = new TextDecoder();

  constructor(source: ByteSource) {
    this.source = source;
    this.end = Math.min(source.size, HEADER_LIMITS.headerBytes);
    // No larger than the file: a scan of many small files should not allocate 256 KiB for each.
    this.window = new Uint8Array(Math.min(WINDOW_BYTES, Math.max(16, this.end)));
    this.view = new DataView(this.window.buffer);
  }

  /** Bytes left before `end`. */
  room(): number {
    return this.end - this.pos;
  }

  /**
   * A claim of `bytes` that the room left cannot hold: a cut file when a complete one could
   * have held it within the header limit, an absurd claim when no file could.
   */
  private refuse(what: "kv-count" | "tensor-count" | "string" | "array", claimed: number, bytes: number): never {
    const couldFit = this.pos + bytes <= HEADER_LIMITS.headerBytes && this.source.size < HEADER_LIMITS.headerBytes;
    throw new Stop(
      couldFit ? { code: "truncated-header", fileBytes: this.source.size } : { code: "absurd-size", what, claimed, room: this.room() },
    );
  }

  private beyond(bytes: number): never {
    if (this.pos + bytes > this.source.size) throw new Stop({ code: "truncated-header", fileBytes: this.source.size });
    throw new Stop({ code: "header-limit", what: "header-bytes", value: this.pos + bytes, limit: HEADER_LIMITS.headerBytes });
  }

  /** Makes `bytes` (at most the window) readable at `pos`; returns their offset in the window. */
  private at(bytes: number): number {
    if (this.pos >= this.windowStart && this.pos + bytes <= this.windowEnd) return this.pos - this.windowStart;
    if (this.pos + bytes > this.end) this.beyond(bytes);
    const got = this.source.read(this.window.subarray(0, Math.min(this.window.length, this.end - this.pos)), this.pos);
    if (typeof got !== "number") throw new Stop({ code: "read-failed", errno: got.errno });
    this.windowStart = this.pos;
    this.windowEnd = this.pos + got;
    // The file shrank under us: what stat said is no longer there.
    if (got < bytes) throw new Stop({ code: "truncated-header", fileBytes: this.pos + got });
    return 0;
  }

  skip(bytes: number): void {
    if (bytes > this.room()) this.beyond(bytes);
    this.pos += bytes;
  }

  u8(): number {
    const at = this.at(1);
    this.pos += 1;
    return this.view.getUint8(at);
  }
  u32(): number {
    const at = this.at(4);
    this.pos += 4;
    return this.view.getUint32(at, true);
  }
  /** A u64 as a number: exact up to 2^53, and absurd values stay absurd (they are only compared). */
  u64(): number {
    const at = this.at(8);
    this.pos += 8;
    return this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 2 ** 32;
  }
  /** A fixed-size scalar of `type`, as a number (or boolean). */
  scalar(type: number): number | boolean {
    const size = FIXED_SIZE[type]!;
    const at = this.at(size);
    this.pos += size;
    const v = this.view;
    switch (type) {
      case T.UINT8:
        return v.getUint8(at);
      case T.INT8:
        return v.getInt8(at);
      case T.UINT16:
        return v.getUint16(at, true);
      case T.INT16:
        return v.getInt16(at, true);
      case T.UINT32:
        return v.getUint32(at, true);
      case T.INT32:
        return v.getInt32(at, true);
      case T.FLOAT32:
        return v.getFloat32(at, true);
      case T.BOOL:
        return v.getUint8(at) !== 0;
      case T.UINT64:
        return v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
      case T.INT64:
        return Number(v.getBigInt64(at, true));
      default:
        return v.getFloat64(at, true);
    }
  }
  /** A string's length, checked against the room left. */
  stringLength(): number {
    const length = this.u64();
    if (length > this.room()) this.refuse("string", length, length);
    return length;
  }
  /** A string of at most `keep` bytes, decoded; a longer one is stepped over and reported by its length. */
  string(keep: number): string | SkippedValue {
    const length = this.stringLength();
    if (length > keep) {
      this.skip(length);
      return { skipped: "string", length };
    }
    const at = this.at(length);
    this.pos += length;
    return this.decoder.decode(this.window.subarray(at, at + length));
  }
  /**
   * Steps over `count` strings: the hot loop of every header (a vocabulary and its merges are
   * 30k to 260k strings each). The length is read straight from the window when it is there;
   * anything else takes the checked path, which also makes the error.
   */
  skipStrings(count: number): void {
    const w = this.window;
    let i = 0;
    while (i < count) {
      // Offsets within the window as 32-bit integers (pos never passes `end`, at most 64 MiB): V8
      // then indexes the window without converting a double at every byte, 2.4 times faster.
      const start = this.windowStart;
      let at = (this.pos - start) | 0;
      const last = (this.windowEnd - start - 8) | 0;
      const stop = Math.min(this.end - start, 2 ** 30) | 0;
      while (i < count && at >= 0 && at <= last) {
        // A length of 16 MiB or more goes the checked way.
        if ((w[at + 3]! | w[at + 4]! | w[at + 5]! | w[at + 6]! | w[at + 7]!) !== 0) break;
        const next = at + 8 + (w[at]! | (w[at + 1]! << 8) | (w[at + 2]! << 16));
        if (next > stop) break;
        at = next;
        i++;
      }
      this.pos = start + at;
      if (i < count) {
        this.skip(this.stringLength());
        i++;
      }
    }
  }

  /** A count of items of `itemBytes` each, checked against the room left. */
  count(what: "kv-count" | "tensor-count" | "array", itemBytes: number): number {
    const claimed = this.u64();
    if (claimed * itemBytes > this.room()) this.refuse(what, claimed, claimed * itemBytes);
    return claimed;
  }
}

function readValue(cursor: Cursor, type: number, depth: number): GgufValue {
  if (type === T.STRING) return cursor.string(HEADER_LIMITS.keptStringBytes);
  if (type !== T.ARRAY) {
    if (FIXED_SIZE[type] === undefined) throw new Stop({ code: "bad-value-type", type });
    return cursor.scalar(type);
  }
  if (depth >= HEADER_LIMITS.arrayDepth)
    throw new Stop({ code: "header-limit", what: "array-depth", value: depth + 1, limit: HEADER_LIMITS.arrayDepth });
  const itemType = cursor.u32();
  if (itemType !== T.STRING && itemType !== T.ARRAY && FIXED_SIZE[itemType] === undefined)
    throw new Stop({ code: "bad-value-type", type: itemType });
  const length = cursor.count("array", MIN_SIZE(itemType));
  const fixed = FIXED_SIZE[itemType];
  if (fixed !== undefined && itemType !== T.BOOL && length <= HEADER_LIMITS.keptArrayItems) {
    const items: number[] = [];
    for (let i = 0; i < length; i++) items.push(cursor.scalar(itemType) as number);
    return items;
  }
  if (fixed !== undefined) cursor.skip(length * fixed);
  else if (itemType === T.STRING) cursor.skipStrings(length);
  else for (let i = 0; i < length; i++) readValue(cursor, T.ARRAY, depth + 1);
  return { skipped: "array", length };
}

function parse(source: ByteSource): GgufHeader {
  const cursor = new Cursor(source);
  const magic = cursor.u32();
  if (magic !== 0x46554747) throw new Stop({ code: "not-gguf" });
  const version = cursor.u32();
  // v1 (u32 counts) is refused by llama.cpp itself; a big-endian file reads as a huge version here.
  if (version !== 2 && version !== 3) throw new Stop({ code: "unsupported-version", version });
  // The fewest bytes a tensor info (empty name, no dimension) and a key-value pair can take.
  const tensorCount = cursor.count("tensor-count", 24);
  const kvCount = cursor.count("kv-count", 13);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = cursor.string(HEADER_LIMITS.keyBytes);
    if (typeof key !== "string") throw new Stop({ code: "header-limit", what: "key", value: key.length, limit: HEADER_LIMITS.keyBytes });
    const value = readValue(cursor, cursor.u32(), 0);
    if (metadata.size < HEADER_LIMITS.keptEntries || metadata.has(key)) metadata.set(key, value);
  }

  let lastTensorStart = 0;
  for (let i = 0; i < tensorCount; i++) {
    const nameLength = cursor.stringLength();
    if (nameLength > HEADER_LIMITS.tensorNameBytes)
      throw new Stop({ code: "header-limit", what: "tensor-name", value: nameLength, limit: HEADER_LIMITS.tensorNameBytes });
    cursor.skip(nameLength);
    const dims = cursor.u32();
    if (dims > HEADER_LIMITS.tensorDims)
      throw new Stop({ code: "header-limit", what: "tensor-dims", value: dims, limit: HEADER_LIMITS.tensorDims });
    cursor.skip(dims * 8 + 4);
    lastTensorStart = Math.max(lastTensorStart, cursor.u64());
  }

  const alignment = metadata.get("general.alignment") ?? DEFAULT_ALIGNMENT;
  if (typeof alignment !== "number" || alignment < 1 || alignment > 2 ** 30 || (alignment & (alignment - 1)) !== 0)
    throw new Stop({ code: "bad-alignment", value: typeof alignment === "number" ? alignment : Number.NaN });
  const dataStart = Math.ceil(cursor.pos / alignment) * alignment;
  lastTensorStart += dataStart;
  if (tensorCount > 0 && lastTensorStart >= source.size)
    throw new Stop({ code: "incomplete-data", fileBytes: source.size, lastTensorStart });
  return { version, tensorCount, metadata, dataStart, lastTensorStart };
}

/** The header of a GGUF file, or why there is none. Never throws on what the bytes say. */
export function readGgufHeader(source: ByteSource): HeaderResult {
  try {
    return { ok: true, header: parse(source) };
  } catch (error) {
    if (error instanceof Stop) return { ok: false, problem: error.problem };
    // DataView range errors cannot happen past the checks above; should one, the file is still only bad.
    if (error instanceof RangeError) return { ok: false, problem: { code: "truncated-header", fileBytes: source.size } };
    throw error;
  }
}

/** A source over bytes in memory (tests, and a header read in one piece). */
export function bufferSource(bytes: Uint8Array, size = bytes.length): ByteSource {
  return {
    size,
    read(target, position) {
      const part = bytes.subarray(position, Math.min(position + target.length, bytes.length));
      target.set(part);
      return part.length;
    },
  };
}
