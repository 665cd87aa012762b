/** Reading a server's log: the keeper writes it (src/llamafiles/process/keeper.mjs), pi quotes its end. */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** The last `lines` lines of the log, read from its end so a huge log costs nothing; never through a symlink. */
export function tailLog(logPath: string, lines = 10): string {
  let fd: number;
  try {
    fd = openSync(logPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString("utf8").replace(/\n$/, "");
    return text.split("\n").slice(-lines).join("\n");
  } finally {
    closeSync(fd);
  }
}
