/**
 * The record pi writes beside each saved slot file: what it was saved from, so that it is never
 * restored into another model or layout (the server would take it and answer garbage, D05),
 * and whose conversation it is. `s-<session>.json` names its `s-<session>-<nonce>.bin`.
 * Records live in a folder of this user's alone, but a file there can still be anything: every
 * field is checked before it is believed, and nothing is read through a symlink.
 */
import { randomUUID } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { isSlotFileName, SLOT_FILE_HEADER_BYTES, slotFileTokens } from "../../llama-cpp/slots.ts";
import { readPrivateFile, writePrivateFile } from "../../util/private-file.ts";

export interface CacheRecord {
  version: 1;
  modelId: string;
  /** The pi session whose conversation it is; `file` is its session file, when it has one. */
  session: { id: string; file?: string };
  /** The pi process that saved it (an in-memory session ends with it). */
  savedBy: { pid: number; startTime: string };
  /** The slot file, in the same folder. */
  file: string;
  bytes: number;
  tokens: number;
  /** The model file the server ran (its size and modification time, when it is a file pi can see). */
  model: { path: string; size?: number; mtimeMs?: number };
  /** The server's slot layout (src/llama-cpp/slots.ts `layoutKey`). */
  layout: string;
  /** Tokens one slot held at most. */
  contextPerSlot?: number;
  savedAt: number;
  /** Saved or restored last (the budget removes the least recently used first). */
  usedAt: number;
  saveMs: number;
}

const MAX_RECORD_BYTES = 64 * 1024;

export const recordName = (key: string) => `s-${key}.json`;
export const newSlotFileName = (key: string) => `s-${key}-${randomUUID().slice(0, 8)}.bin`;

const isText = (value: unknown, max = 4096): value is string => typeof value === "string" && value.length > 0 && value.length <= max;
const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0;

/** The record as written, or why it is not one. */
export function parseRecord(text: string): CacheRecord | string {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  if (raw === null || typeof raw !== "object" || raw.version !== 1) return "it is not a record this version of pi writes";
  const session = raw.session as Record<string, unknown> | undefined;
  const savedBy = raw.savedBy as Record<string, unknown> | undefined;
  const model = raw.model as Record<string, unknown> | undefined;
  const ok =
    isText(raw.modelId, 200) &&
    isText(session?.id, 200) &&
    (session?.file === undefined || isText(session.file)) &&
    isCount(savedBy?.pid) &&
    isText(savedBy?.startTime, 100) &&
    isText(raw.file, 255) &&
    isSlotFileName(raw.file) &&
    isCount(raw.bytes) &&
    isCount(raw.tokens) &&
    isText(model?.path) &&
    (model?.size === undefined || isCount(model.size)) &&
    (model?.mtimeMs === undefined || isTime(model.mtimeMs)) &&
    isText(raw.layout, 200) &&
    (raw.contextPerSlot === undefined || isCount(raw.contextPerSlot)) &&
    isTime(raw.savedAt) &&
    isTime(raw.usedAt) &&
    isTime(raw.saveMs);
  return ok ? (raw as unknown as CacheRecord) : "a field is missing or not what pi writes";
}

/** Reads the record at `path`: never through a symlink, only a regular file of this user, of a sane size. */
export function readRecord(path: string): CacheRecord | "missing" | string {
  const read = readPrivateFile(path, MAX_RECORD_BYTES);
  if (read.ok) return parseRecord(read.text);
  if ("errno" in read) return read.errno === "ENOENT" ? "missing" : `it cannot be read (${read.errno})`;
  return unreadableWhy[read.why];
}

const unreadableWhy = {
  symlink: "it is a symbolic link",
  "not-a-file": "it is not a regular file",
  "not-yours": "it belongs to another user",
  "too-large": "it is too large",
} as const;

/** Writes the record atomically (a new 0600 file, then a rename): a reader sees the old record or the new one. */
export function writeRecord(dir: string, key: string, record: CacheRecord): void {
  const path = join(dir, recordName(key));
  const errno = writePrivateFile(path, JSON.stringify(record));
  if (errno) throw new Error(`cannot write ${path} (${errno})`);
}

/**
 * Checks a slot file the server wrote (or will read): a regular file, not a link, of `bytes`
 * bytes when that is known, whose header holds `tokens` tokens; makes it 0600 (the server
 * writes with its umask). Returns what is wrong, or undefined.
 */
export function checkSlotFile(path: string, expected: { bytes?: number; tokens: number }): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ELOOP" ? "it is a symbolic link" : `it cannot be opened (${code})`;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return "it is not a regular file";
    if (process.getuid && stat.uid !== process.getuid()) return "it belongs to another user";
    if (expected.bytes !== undefined && stat.size !== expected.bytes) return `it has ${stat.size} bytes, not ${expected.bytes}`;
    const header = Buffer.alloc(SLOT_FILE_HEADER_BYTES);
    readSync(fd, header, 0, SLOT_FILE_HEADER_BYTES, 0);
    const tokens = slotFileTokens(header);
    if (tokens !== expected.tokens)
      return tokens === undefined ? "it is not a slot file" : `it holds ${tokens} tokens, not ${expected.tokens}`;
    if ((stat.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return undefined;
  } finally {
    closeSync(fd);
  }
}
