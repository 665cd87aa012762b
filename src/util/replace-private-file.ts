/**
 * A small private file replaced whole: written to a new 0600 file beside it (never through a
 * symlink: O_EXCL | O_NOFOLLOW), then renamed over it, so a reader (another pi on the same HOME)
 * sees the old text or the new one, never half of either. Throws what the file system throws.
 */
import { randomUUID } from "node:crypto";
import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from "node:fs";

export function replacePrivateFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
