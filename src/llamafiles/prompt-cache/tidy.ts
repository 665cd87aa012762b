/**
 * Keeping the prompt-cache folders within bounds: files of sessions that no longer exist go
 * (a session file that is gone and the pi that saved it gone too; an in-memory session ends
 * with its pi), so do slot files no record names (a save cut short, a record removed), and
 * then the least recently used until all the caches fit the budget. Everything here is read
 * with lstat and never followed through a symlink; only regular files and links are removed.
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { processStartTime } from "../process/process-proof.ts";
import { promptCacheRoot } from "./paths.ts";
import { type CacheRecord, readRecord } from "./records.ts";

/** A slot file no record names is left this long (a save in progress), then removed. */
const LEFTOVER_MS = 10 * 60_000;

export interface SavedCache {
  dir: string;
  recordFile: string;
  record: CacheRecord;
}

const entries = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Model folders under the root: real folders only (discovery.json and anything else are left alone). */
function modelDirs(root: string): string[] {
  return entries(root)
    .map((name) => join(root, name))
    .filter((path) => {
      try {
        return lstatSync(path).isDirectory();
      } catch {
        return false;
      }
    });
}

/** Every record pi can believe, in every model folder (`removeBad`: records it cannot believe are removed). */
export function savedCaches(root = promptCacheRoot(), removeBad = false): SavedCache[] {
  const found: SavedCache[] = [];
  for (const dir of modelDirs(root)) {
    for (const name of entries(dir)) {
      if (!/^s-[A-Za-z0-9_-]+\.json$/.test(name)) continue;
      const record = readRecord(join(dir, name));
      if (typeof record === "object") found.push({ dir, recordFile: name, record });
      else if (record !== "missing" && removeBad) rmSync(join(dir, name), { force: true });
    }
  }
  return found;
}

const sessionGone = (record: CacheRecord) => {
  const saverLives = processStartTime(record.savedBy.pid) === record.savedBy.startTime;
  if (saverLives) return false;
  if (record.session.file === undefined) return true;
  try {
    lstatSync(record.session.file);
    return false;
  } catch {
    return true;
  }
};

export function removeCache(cache: SavedCache): void {
  rmSync(join(cache.dir, cache.record.file), { force: true });
  rmSync(join(cache.dir, cache.recordFile), { force: true });
}

/**
 * Removes what is not worth keeping and returns what is left: caches of sessions that are gone,
 * slot files nothing names, then the least recently used until the rest fits `budgetBytes`.
 */
export function tidyCaches(budgetBytes: number, now = Date.now(), root = promptCacheRoot()): SavedCache[] {
  const kept = savedCaches(root, true).filter((cache) => {
    if (!sessionGone(cache.record)) return true;
    removeCache(cache);
    return false;
  });
  const named = new Set(kept.map((cache) => join(cache.dir, cache.record.file)));
  for (const dir of modelDirs(root)) {
    for (const name of entries(dir)) {
      if (!/\.(bin|tmp)$/.test(name) || named.has(join(dir, name))) continue;
      try {
        const stat = lstatSync(join(dir, name));
        if ((stat.isFile() || stat.isSymbolicLink()) && now - stat.mtimeMs > LEFTOVER_MS) rmSync(join(dir, name), { force: true });
      } catch {
        // gone meanwhile
      }
    }
  }
  kept.sort((a, b) => a.record.usedAt - b.record.usedAt);
  let total = kept.reduce((sum, cache) => sum + cache.record.bytes, 0);
  while (total > budgetBytes && kept.length > 0) {
    const oldest = kept.shift()!;
    removeCache(oldest);
    total -= oldest.record.bytes;
  }
  return kept;
}
