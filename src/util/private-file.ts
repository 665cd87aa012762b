/**
 * Small private files under ~/.pi (caches, records, indexes): read as hostile input (never
 * through a symbolic link, never a FIFO or device, never another user's, size-capped) and written
 * atomically (a new 0600 file created exclusively, never through a link, renamed over the old
 * one, so another pi on the same HOME reads the old text or the new, never half) in a 0700
 * folder that a link in its place cannot redirect. The one place these rules are written.
 */
import * as nodeFs from "node:fs";
import { chmodSync, constants, lstatSync, mkdirSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { errnoOf } from "./errno.ts";

/** The file calls made here: discovery passes its own seam (tests fail single calls). */
export type PrivateFileSystem = Pick<
  typeof nodeFs,
  "openSync" | "fstatSync" | "readSync" | "closeSync" | "mkdirSync" | "lstatSync" | "writeSync" | "renameSync" | "unlinkSync"
>;

export type PrivateRead =
  | { ok: true; text: string }
  /** ENOENT: there is none yet. */
  | { ok: false; errno: string }
  | { ok: false; why: "symlink" | "not-a-file" | "not-yours" | "too-large" };

/** The text of `path`, if it is a regular file of at most `maxBytes`. */
export function readPrivateFile(path: string, maxBytes: number, fs: PrivateFileSystem = nodeFs): PrivateRead {
  let fd: number;
  try {
    fd = fs.openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const errno = errnoOf(error);
    // O_NOFOLLOW on a link fails with ELOOP.
    return errno === "ELOOP" ? { ok: false, why: "symlink" } : { ok: false, errno };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { ok: false, why: "not-a-file" };
    if (process.getuid && stat.uid !== undefined && stat.uid !== process.getuid()) return { ok: false, why: "not-yours" };
    if (stat.size > maxBytes) return { ok: false, why: "too-large" };
    const buffer = Buffer.alloc(stat.size);
    let got = 0;
    while (got < buffer.length) {
      const n = fs.readSync(fd, buffer, got, buffer.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { ok: true, text: buffer.toString("utf8", 0, got) };
  } catch (error) {
    return { ok: false, errno: errnoOf(error) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `body` to `path`: a fresh 0600 file beside it, renamed over it. The errno when it could not. */
export function writePrivateFile(path: string, body: string, fs: PrivateFileSystem = nodeFs): string | undefined {
  const folder = dirname(path);
  const temp = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    const stat: Stats = fs.lstatSync(folder);
    // A link in the folder's place could send the file anywhere.
    if (!stat.isDirectory()) return "ENOTDIR";
  } catch (error) {
    return errnoOf(error);
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    fs.writeSync(fd, body);
    fs.closeSync(fd);
    fd = undefined;
    // rename replaces a link at `path` itself; it never writes through it.
    fs.renameSync(temp, path);
    return undefined;
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    try {
      fs.unlinkSync(temp);
    } catch {
      // Not created, or already renamed.
    }
    return errnoOf(error);
  }
}

/** A folder's problem for a private file: it is not one, not this user's, or cannot be made. */
export type UnsafeDir = { code: "not-a-folder" | "not-yours" | "cannot-create"; path: string; detail?: string };

/** Makes `path` (0700) if needed; what is wrong with it (a link or file in its place, another user's), or undefined. */
export function privateDir(path: string): UnsafeDir | undefined {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const stat = lstatSync(path);
    if (!stat.isDirectory()) return { code: "not-a-folder", path };
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) return { code: "not-yours", path };
    if ((stat.mode & 0o077) !== 0) chmodSync(path, 0o700);
    return undefined;
  } catch (error) {
    return { code: "cannot-create", path, detail: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}
