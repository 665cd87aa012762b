/**
 * Where the model lives inside a llamafile (pure). A llamafile is an executable with a zip
 * archive at its end, and the model is a GGUF file stored in it uncompressed (llamafile maps it
 * straight from the executable), so its header can be read in place, at the entry's offset.
 * Only the end-of-archive records and the central directory are read, both bounded.
 */
import type { ByteSource } from "./gguf-header.ts";

export type ZipProblem =
  | { code: "no-embedded-gguf" }
  | { code: "bad-zip"; why: "no-end-record" | "directory-outside-file" | "directory-too-large" | "bad-entry" }
  | { code: "read-failed"; errno: string };

export type EmbeddedModel = { ok: true; name: string; offset: number; bytes: number } | { ok: false; problem: ZipProblem };

const END = 0x06054b50;
const END64 = 0x06064b50;
const END64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** The end record (22 bytes) and the longest comment it may carry. */
const TAIL_BYTES = 22 + 0xffff;
/** llamafiles hold a few hundred entries (the model, a projector, time zones, certificates). */
const MAX_DIRECTORY_BYTES = 4 * 2 ** 20;

class Bad {
  problem: ZipProblem;
  constructor(problem: ZipProblem) {
    this.problem = problem;
  }
}

function readAt(source: ByteSource, position: number, length: number): Buffer {
  if (position < 0 || position + length > source.size) throw new Bad({ code: "bad-zip", why: "directory-outside-file" });
  const buffer = Buffer.alloc(length);
  const got = source.read(buffer, position);
  if (typeof got !== "number") throw new Bad({ code: "read-failed", errno: got.errno });
  if (got < length) throw new Bad({ code: "bad-zip", why: "directory-outside-file" });
  return buffer;
}

const u64 = (buffer: Buffer, at: number) => buffer.readUInt32LE(at) + buffer.readUInt32LE(at + 4) * 2 ** 32;

/** The central directory's offset, size and entry count, from the end records (zip64 when needed). */
function directory(source: ByteSource): { offset: number; bytes: number } {
  const tailStart = Math.max(0, source.size - TAIL_BYTES);
  const tail = readAt(source, tailStart, source.size - tailStart);
  let end = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === END && at + 22 + tail.readUInt16LE(at + 20) === tail.length) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Bad({ code: "bad-zip", why: "no-end-record" });
  let offset = tail.readUInt32LE(end + 16);
  let bytes = tail.readUInt32LE(end + 12);
  if ((offset === 0xffffffff || bytes === 0xffffffff) && end >= 20 && tail.readUInt32LE(end - 20) === END64_LOCATOR) {
    const record = readAt(source, u64(tail, end - 20 + 8), 56);
    if (record.readUInt32LE(0) !== END64) throw new Bad({ code: "bad-zip", why: "no-end-record" });
    bytes = u64(record, 40);
    offset = u64(record, 48);
  }
  if (bytes > MAX_DIRECTORY_BYTES) throw new Bad({ code: "bad-zip", why: "directory-too-large" });
  return { offset, bytes };
}

function find(source: ByteSource): EmbeddedModel {
  const { offset, bytes } = directory(source);
  const entries = readAt(source, offset, bytes);
  let best: { name: string; local: number; bytes: number } | undefined;
  for (let at = 0; at + 46 <= entries.length && entries.readUInt32LE(at) === CENTRAL; ) {
    const method = entries.readUInt16LE(at + 10);
    let size = entries.readUInt32LE(at + 24);
    const nameLength = entries.readUInt16LE(at + 28);
    const extraLength = entries.readUInt16LE(at + 30);
    const commentLength = entries.readUInt16LE(at + 32);
    let local = entries.readUInt32LE(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > entries.length) throw new Bad({ code: "bad-zip", why: "bad-entry" });
    const name = entries.toString("utf8", at + 46, at + 46 + nameLength);
    // Zip64: the sizes and offset that did not fit are in the extra field 0x0001, in this order.
    for (let extra = at + 46 + nameLength; extra + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = entries.readUInt16LE(extra);
      const length = entries.readUInt16LE(extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        if (size === 0xffffffff && field + 8 <= extra + 4 + length) {
          size = u64(entries, field);
          field += 8;
        }
        if (entries.readUInt32LE(at + 20) === 0xffffffff) field += 8;
        if (local === 0xffffffff && field + 8 <= extra + 4 + length) local = u64(entries, field);
      }
      extra += 4 + length;
    }
    // The model: the largest GGUF stored uncompressed (a projector beside it is smaller).
    if (method === 0 && /\.gguf$/i.test(name) && (!best || size > best.bytes)) best = { name, local, bytes: size };
    at = next;
  }
  if (!best) return { ok: false, problem: { code: "no-embedded-gguf" } };
  const header = readAt(source, best.local, 30);
  if (header.readUInt32LE(0) !== LOCAL) throw new Bad({ code: "bad-zip", why: "bad-entry" });
  const start = best.local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + best.bytes > source.size) throw new Bad({ code: "bad-zip", why: "directory-outside-file" });
  return { ok: true, name: best.name, offset: start, bytes: best.bytes };
}

/** The GGUF model stored in a llamafile, or why there is none to read. */
export function embeddedModel(source: ByteSource): EmbeddedModel {
  try {
    return find(source);
  } catch (error) {
    if (error instanceof Bad) return { ok: false, problem: error.problem };
    // A buffer read out of range: the archive lies about itself.
    if (error instanceof RangeError) return { ok: false, problem: { code: "bad-zip", why: "bad-entry" } };
    throw error;
  }
}
