/**
 * The models the last discovery found, kept for the next start: `~/.pi/llamafile_cache/found.json`.
 * A warm discovery stats every file and costs ~18 ms for 200 models in a process that has just
 * started (docs/discovery.md, "Cost"), more than pi's start-up can spare; this file lets the
 * extension register those models at once, from its factory, and discover again right after
 * start-up. It is valid only for the settings it was written under (`key`: the folders, the
 * user's arguments, the declared models discovery gives way to, …).
 *
 * Read as hostile input like the header cache (src/util/private-file.ts): a file that is not one, is too
 * large, or not of this version and key is not used at all; a malformed model in it is left out,
 * the others are used (the scan after start-up replaces the file either way).
 */
import { join } from "node:path";
import { terminalSafe } from "../../pi-session/terminal-text.ts";
import { readPrivateFile, writePrivateFile } from "../../util/private-file.ts";
import type { DiscoveredModel } from "./discover.ts";
import type { FileSystem } from "./file-system.ts";

const VERSION = 1;
/** 5,000 models of ~1 KiB each: far more than a scan can find within its entry bound. */
const MAX_BYTES = 8 * 2 ** 20;
const MAX_MODELS = 5_000;

/** What is kept of a found model: everything but its header's facts (only discovery itself reads those). */
export type FoundModel = Omit<DiscoveredModel, "facts">;

export function defaultLastFoundPath(home: string): string {
  return join(home, ".pi", "llamafile_cache", "found.json");
}

/**
 * What may be a character terminal-text.ts makes safe (a control character, C0 or C1, DEL, a
 * bidirectional override), found in the file's text before it is parsed: JSON holds a C0 one only
 * as an escape (\n, \u001b, …), the others as themselves or as escapes. One pass over the text
 * instead of a test of every string: the checks run before the JIT has warmed up, where each call
 * costs (2 ms for 200 models, string by string). Only when it matches (a path with a backslash
 * before one of "bfnrt" does too) are the models' strings checked one by one (`unsafeStrings`).
 */
const MAYBE_UNSAFE_IN_JSON = /\\(?:[bfnrt]|u00[0189]|u007f|u202[a-e]|u206[6-9])|[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/i;

/** A string pi would show otherwise than it reads: what terminal-text.ts changes, or a line break. */
const isUnsafe = (text: string) => terminalSafe(text) !== text || text.includes("\n");

/** Whether any string of a (well-formed) found model is unsafe: its id and name reach pi's /model unfiltered. */
function unsafeStrings(model: FoundModel): boolean {
  const texts = [model.id, model.name, model.command, ...model.args, ...model.files, ...(model.projector ? [model.projector] : [])];
  return texts.some(isUnsafe);
}

// Straight-line checks, as in discovery-cache.ts: they run once per model before the JIT warms up.
const isText = (v: unknown, max = 4096): v is string => typeof v === "string" && v.length > 0 && v.length <= max;
// Arithmetic, not Number.isSafeInteger: a built-in call costs twice as much in the interpreter.
const isCount = (v: unknown): v is number => typeof v === "number" && v >= 0 && v % 1 === 0 && v <= Number.MAX_SAFE_INTEGER;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

// Index loops: a for-of loop costs five times as much before the JIT has warmed up (its iterator calls).
function isTexts(v: unknown, max: number): v is string[] {
  if (!Array.isArray(v) || v.length > max) return false;
  for (let i = 0; i < v.length; i++) if (!isText(v[i])) return false;
  return true;
}

function isEstimate(v: unknown): boolean {
  return (
    isObject(v) &&
    isCount(v.weightBytes) &&
    (v.kvCacheBytes === undefined || isCount(v.kvCacheBytes)) &&
    isCount(v.marginBytes) &&
    isCount(v.totalBytes)
  );
}

function isFoundModel(v: unknown): v is FoundModel {
  if (!isObject(v)) return false;
  const input = v.input;
  return (
    isText(v.id, 200) &&
    isText(v.name, 400) &&
    (v.kind === "gguf" || v.kind === "llamafile") &&
    isText(v.command) &&
    v.command.startsWith("/") &&
    isTexts(v.args, 512) &&
    isCount(v.port) &&
    v.port >= 1 &&
    v.port <= 65535 &&
    isCount(v.contextWindow) &&
    v.contextWindow > 0 &&
    (v.trainedContext === undefined || isCount(v.trainedContext)) &&
    Array.isArray(input) &&
    input[0] === "text" &&
    (input.length === 1 || (input.length === 2 && input[1] === "image")) &&
    isCount(v.memoryBytes) &&
    isEstimate(v.estimate) &&
    isTexts(v.files, 64) &&
    v.files.length > 0 &&
    (v.projector === undefined || isText(v.projector)) &&
    isCount(v.bytes)
  );
}

/** For `readLastFound`: the models of the last discovery whatever its settings were (the ports they had). */
export const ANY_KEY = Symbol("any settings");

/**
 * The models found under `key` (or `ANY_KEY`), or undefined when there is no such file or it is not one of this
 * version and key. A model that is malformed, holds an unsafe string or repeats an id is left out.
 */
export function readLastFound(path: string, key: string | typeof ANY_KEY, fs: FileSystem): FoundModel[] | undefined {
  const read = readPrivateFile(path, MAX_BYTES, fs);
  if (!read.ok) return undefined;
  let root: unknown;
  try {
    root = JSON.parse(read.text);
  } catch {
    return undefined;
  }
  if (!isObject(root) || root.version !== VERSION || (key !== ANY_KEY && root.key !== key) || !Array.isArray(root.models)) return undefined;
  const models = root.models;
  if (models.length > MAX_MODELS) return undefined;
  const suspect = MAYBE_UNSAFE_IN_JSON.test(read.text);
  const kept: FoundModel[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < models.length; i++) {
    const model: unknown = models[i];
    if (!isFoundModel(model) || ids.has(model.id) || (suspect && unsafeStrings(model))) continue;
    ids.add(model.id);
    kept.push(model);
  }
  return kept;
}

/** The text `writeLastFound` writes: compare it to skip a write that changes nothing. */
export function lastFoundText(key: string, models: ReadonlyArray<FoundModel & { facts?: unknown }>): string {
  const kept: FoundModel[] = models.slice(0, MAX_MODELS).map(({ facts: _facts, ...model }) => model);
  return JSON.stringify({ version: VERSION, key, models: kept });
}

/** Writes the text of `lastFoundText`; the errno when it could not (the next start then scans after start-up). */
export function writeLastFound(path: string, text: string, fs: FileSystem): string | undefined {
  return writePrivateFile(path, text, fs);
}
