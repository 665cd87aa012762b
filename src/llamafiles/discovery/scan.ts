/**
 * Walks the model folders for files named `*.gguf` and `*.llamafile`, in a fixed order (folders
 * as configured, names sorted), bounded in depth and in entries, and never opening anything:
 * every file is stat'ed, and only a regular file goes on to be read.
 *
 * Symbolic links are followed, to files and to folders, wherever they point: model libraries
 * are routinely links into the Hugging Face cache or onto another disk. What keeps that safe:
 * the target must be a regular file (a link to /dev/zero or a FIFO is skipped), a folder or file
 * reached twice (a loop, or two links to one place) is taken once, by device and inode, and the
 * depth and entry bounds hold across links. Hidden entries (`.git`, `.locks`) are not entered.
 */
import type { Dir, Stats } from "node:fs";
import { join } from "node:path";
import { errnoOf } from "../../util/errno.ts";
import type { FileSystem } from "./file-system.ts";
import type { FoundFile } from "./model-files.ts";

export const SCAN_LIMITS = {
  /** Folders below a model folder: the Hugging Face cache needs 4 (models--x--y/snapshots/<hash>/file). */
  depth: 8,
  /** Directory entries looked at in one scan, all folders together. */
  entries: 20_000,
};

export type ScanSkip =
  | { code: "folder-unreadable"; errno: string }
  | { code: "not-a-folder" }
  | { code: "not-regular-file"; kind: "fifo" | "socket" | "character-device" | "block-device" | "directory" | "other" }
  | { code: "broken-link" }
  | { code: "symlink-loop" }
  | { code: "unreadable"; errno: string }
  /** The same file (device and inode) was already found at `of`. */
  | { code: "duplicate"; of: string }
  /** This folder (device and inode) was already scanned as `as`: a loop, or a second link to it. */
  | { code: "folder-seen"; as: string }
  | { code: "too-deep"; limit: number }
  | { code: "entry-limit"; limit: number };

/** A file found by the scan, with what its cache entry is keyed on. */
export interface ScannedFile extends Omit<FoundFile, "header"> {
  dev: number;
  ino: number;
  mtimeMs: number;
}

export interface ScanResult {
  files: ScannedFile[];
  skipped: Array<{ path: string; reason: ScanSkip }>;
  /** The model folders that were walked. */
  scanned: string[];
}

const MODEL_NAME = /\.(gguf|llamafile)$/i;

function kindOf(entry: Pick<Stats, "isFIFO" | "isSocket" | "isCharacterDevice" | "isBlockDevice" | "isDirectory">) {
  if (entry.isFIFO()) return "fifo";
  if (entry.isSocket()) return "socket";
  if (entry.isCharacterDevice()) return "character-device";
  if (entry.isBlockDevice()) return "block-device";
  if (entry.isDirectory()) return "directory";
  return "other";
}

export function scanFolders(folders: string[], fs: FileSystem, limits = SCAN_LIMITS): ScanResult {
  const files: ScannedFile[] = [];
  const skipped: ScanResult["skipped"] = [];
  const scanned: string[] = [];
  const foldersSeen = new Map<string, string>();
  const filesSeen = new Map<string, string>();
  const skip = (path: string, reason: ScanSkip) => skipped.push({ path, reason });
  let entries = 0;

  const consider = (path: string, folder: string, name: string, stat: Stats) => {
    if (!stat.isFile()) return skip(path, { code: "not-regular-file", kind: kindOf(stat) });
    const key = `${stat.dev}:${stat.ino}`;
    const first = filesSeen.get(key);
    if (first !== undefined) return skip(path, { code: "duplicate", of: first });
    filesSeen.set(key, path);
    files.push({
      path,
      folder,
      name,
      bytes: stat.size,
      executable: (stat.mode & 0o111) !== 0,
      kind: /\.gguf$/i.test(name) ? "gguf" : "llamafile",
      dev: stat.dev,
      ino: stat.ino,
      mtimeMs: stat.mtimeMs,
    });
  };

  /** One folder's entries (sorted), or undefined when it cannot be read or the entry bound is reached. */
  const readFolder = (path: string): Array<{ name: string; type: "dir" | "file" | "link" }> | "stop" | undefined => {
    let dir: Dir;
    try {
      dir = fs.opendirSync(path);
    } catch (error) {
      skip(path, { code: "folder-unreadable", errno: errnoOf(error) });
      return undefined;
    }
    const found: Array<{ name: string; type: "dir" | "file" | "link" }> = [];
    try {
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
        if (++entries > limits.entries) {
          skip(path, { code: "entry-limit", limit: limits.entries });
          return "stop";
        }
        if (entry.name.startsWith(".")) continue;
        const full = join(path, entry.name);
        if (entry.isDirectory()) found.push({ name: entry.name, type: "dir" });
        else if (entry.isSymbolicLink()) found.push({ name: entry.name, type: "link" });
        else if (!MODEL_NAME.test(entry.name)) continue;
        else if (entry.isFile()) found.push({ name: entry.name, type: "file" });
        else skip(full, { code: "not-regular-file", kind: kindOf(entry) });
      }
    } catch (error) {
      skip(path, { code: "folder-unreadable", errno: errnoOf(error) });
      return undefined;
    } finally {
      try {
        dir.closeSync();
      } catch {
        // Only read from; nothing to lose.
      }
    }
    return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };

  outer: for (const root of folders) {
    let rootStat: Stats;
    try {
      rootStat = fs.statSync(root);
    } catch (error) {
      skip(root, { code: "folder-unreadable", errno: errnoOf(error) });
      continue;
    }
    if (!rootStat.isDirectory()) {
      skip(root, { code: "not-a-folder" });
      continue;
    }
    scanned.push(root);
    // Depth-first, children pushed in reverse so they come off the stack in name order.
    const stack: Array<{ path: string; depth: number; stat: Stats }> = [{ path: root, depth: 0, stat: rootStat }];
    while (stack.length > 0) {
      const { path, depth, stat } = stack.pop()!;
      const key = `${stat.dev}:${stat.ino}`;
      const seenAs = foldersSeen.get(key);
      if (seenAs !== undefined) {
        skip(path, { code: "folder-seen", as: seenAs });
        continue;
      }
      foldersSeen.set(key, path);
      if (depth > limits.depth) {
        skip(path, { code: "too-deep", limit: limits.depth });
        continue;
      }
      const found = readFolder(path);
      if (found === "stop") break outer;
      if (!found) continue;
      const subfolders: Array<{ path: string; depth: number; stat: Stats }> = [];
      for (const entry of found) {
        const full = join(path, entry.name);
        if (entry.type === "file") {
          try {
            consider(full, path, entry.name, fs.statSync(full));
          } catch (error) {
            skip(full, { code: "unreadable", errno: errnoOf(error) });
          }
          continue;
        }
        let target: Stats;
        try {
          target = fs.statSync(full);
        } catch (error) {
          const errno = errnoOf(error);
          if (errno === "ELOOP") skip(full, { code: "symlink-loop" });
          else if (entry.type === "dir") skip(full, { code: "folder-unreadable", errno });
          else if (MODEL_NAME.test(entry.name)) skip(full, errno === "ENOENT" ? { code: "broken-link" } : { code: "unreadable", errno });
          continue;
        }
        if (target.isDirectory()) subfolders.push({ path: full, depth: depth + 1, stat: target });
        else if (MODEL_NAME.test(entry.name)) consider(full, path, entry.name, target);
      }
      stack.push(...subfolders.reverse());
    }
  }
  return { files, skipped, scanned };
}
