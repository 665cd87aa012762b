/**
 * What was read from each model file, kept between runs so a warm start only stats the files:
 * `~/.pi/llamafile_cache/discovery.json`, an entry per path, valid while the file's size,
 * modification time, device and inode are the ones recorded.
 *
 * The file is read as hostile input (size-capped, never through a symbolic link, every entry
 * checked and dropped if malformed) and written atomically (src/util/private-file.ts).
 */
import { join } from "node:path";
import { readPrivateFile, writePrivateFile } from "../../util/private-file.ts";
import type { FileSystem } from "./file-system.ts";
import { type Bounds, FACT_BOUNDS, type GgufFacts, inBounds } from "./gguf-facts.ts";
import type { FileProblem } from "./gguf-file.ts";
import { HEADER_LIMITS } from "./gguf-header.ts";
import type { ScannedFile } from "./scan.ts";

export const CACHE_VERSION = 1;
/** Far above 20,000 entries of ~600 bytes; a larger file is not ours. */
const MAX_CACHE_BYTES = 32 * 2 ** 20;
const MAX_ENTRIES = 20_000;

export function defaultCachePath(home: string): string {
  return join(home, ".pi", "llamafile_cache", "discovery.json");
}

export type CachedHeader = { ok: true; facts: GgufFacts } | { ok: false; problem: FileProblem };

export interface CacheEntry {
  bytes: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  header: CachedHeader;
}

export type CacheProblem =
  | { code: "cache-unreadable"; path: string; errno: string }
  | { code: "cache-ignored"; path: string; why: "not-a-file" | "not-yours" | "too-large" | "not-json" | "wrong-version" }
  | { code: "cache-unwritable"; path: string; errno: string };

/** The entry for `file` if it is still the file recorded. */
export function cachedHeader(entries: ReadonlyMap<string, CacheEntry>, file: ScannedFile): CachedHeader | undefined {
  const entry = entries.get(file.path);
  if (!entry) return undefined;
  const same = entry.bytes === file.bytes && entry.mtimeMs === file.mtimeMs && entry.dev === file.dev && entry.ino === file.ino;
  return same ? entry.header : undefined;
}

// ——— reading: every value checked ———

// Straight-line checks, no closures or key lists: a warm start runs them once per file before the
// JIT has warmed up, where each call costs (4 ms for 200 entries with `every` over key lists).
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isCountOrNone = (v: unknown) => v === undefined || isCount(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isText = (v: unknown, max = HEADER_LIMITS.keptStringBytes): v is string => typeof v === "string" && v.length <= max;
const isTextOrNone = (v: unknown) => v === undefined || isText(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Within the bounds `ggufFacts` keeps (or none): a forged or older entry beyond them is read again, never computed with. */
const isBoundedOrNone = (v: unknown, bounds: Bounds) => v === undefined || inBounds(v, bounds);

function isEachBounded(v: unknown, bounds: Bounds): boolean {
  if (!Array.isArray(v) || v.length === 0 || v.length > HEADER_LIMITS.keptArrayItems) return false;
  for (const item of v) if (!inBounds(item, bounds)) return false;
  return true;
}

function isFacts(v: unknown): v is GgufFacts {
  if (!isObject(v)) return false;
  const split = v.split;
  return (
    (isBoundedOrNone(v.headCountKv, FACT_BOUNDS.headCountKv) || isEachBounded(v.headCountKv, FACT_BOUNDS.headCountKv)) &&
    (split === undefined || (isObject(split) && isCount(split.no) && isCount(split.count))) &&
    isTextOrNone(v.architecture) &&
    isText(v.type) &&
    isTextOrNone(v.name) &&
    isTextOrNone(v.quantization) &&
    isCount(v.tensorCount) &&
    isBoundedOrNone(v.trainedContext, FACT_BOUNDS.trainedContext) &&
    isBoundedOrNone(v.blockCount, FACT_BOUNDS.blockCount) &&
    isBoundedOrNone(v.embeddingLength, FACT_BOUNDS.embeddingLength) &&
    isBoundedOrNone(v.headCount, FACT_BOUNDS.headCount) &&
    isBoundedOrNone(v.keyLength, FACT_BOUNDS.headLength) &&
    isBoundedOrNone(v.valueLength, FACT_BOUNDS.headLength) &&
    isCountOrNone(v.projectionDim) &&
    typeof v.hasChatTemplate === "boolean" &&
    typeof v.vision === "boolean"
  );
}

/** A recorded problem: a known code, and only numbers and short texts beside it. */
const PROBLEM_CODES = new Set([
  "not-gguf",
  "unsupported-version",
  "truncated-header",
  "absurd-size",
  "header-limit",
  "bad-value-type",
  "bad-alignment",
  "incomplete-data",
  "no-embedded-gguf",
  "bad-zip",
]);

function isProblem(v: unknown): v is FileProblem {
  if (!isObject(v) || !PROBLEM_CODES.has(v.code as string)) return false;
  for (const key in v) if (!isNumber(v[key]) && !isText(v[key], 64)) return false;
  return true;
}

function isEntry(v: unknown): v is CacheEntry {
  if (!isObject(v) || !isCount(v.bytes) || !isNumber(v.mtimeMs) || !isCount(v.dev) || !isCount(v.ino) || !isObject(v.header)) return false;
  return v.header.ok === true ? isFacts(v.header.facts) : v.header.ok === false && isProblem(v.header.problem);
}

/** The cache's entries (empty when there is none or it cannot be trusted), and why it was not used. */
export function readCache(path: string, fs: FileSystem): { entries: Map<string, CacheEntry>; problem?: CacheProblem } {
  const entries = new Map<string, CacheEntry>();
  const read = readPrivateFile(path, MAX_CACHE_BYTES, fs);
  if (!read.ok) {
    // A link in its place is told as what it is not: a file (pi never writes one).
    if ("why" in read) return { entries, problem: { code: "cache-ignored", path, why: read.why === "symlink" ? "not-a-file" : read.why } };
    return read.errno === "ENOENT" ? { entries } : { entries, problem: { code: "cache-unreadable", path, errno: read.errno } };
  }
  let root: unknown;
  try {
    root = JSON.parse(read.text);
  } catch {
    return { entries, problem: { code: "cache-ignored", path, why: "not-json" } };
  }
  if (!isObject(root) || root.version !== CACHE_VERSION || !isObject(root.entries))
    return { entries, problem: { code: "cache-ignored", path, why: "wrong-version" } };
  for (const [key, value] of Object.entries(root.entries)) {
    if (entries.size >= MAX_ENTRIES) break;
    if (isEntry(value)) entries.set(key, value);
  }
  return { entries };
}

/** Writes `entries` to `path` (src/util/private-file.ts: atomic, 0600, never through a link). */
export function writeCache(path: string, entries: ReadonlyMap<string, CacheEntry>, fs: FileSystem): CacheProblem | undefined {
  const body = JSON.stringify({ version: CACHE_VERSION, entries: Object.fromEntries([...entries].slice(0, MAX_ENTRIES)) });
  const errno = writePrivateFile(path, body, fs);
  return errno === undefined ? undefined : { code: "cache-unwritable", path, errno };
}
