/**
 * A GGUF header read from a file on disk. The scan has already checked (stat) that the path is a
 * regular file; this opens it without blocking (a FIFO swapped in since then returns at once
 * instead of waiting for a writer forever) and checks, on the open descriptor, that it is still
 * that same regular file before reading a byte.
 */
import { constants } from "node:fs";
import { errnoOf, type FileSystem } from "./file-system.ts";
import { type GgufHeader, type GgufProblem, readGgufHeader } from "./gguf-header.ts";

export type FileProblem = GgufProblem | { code: "unreadable"; errno: string } | { code: "changed-while-reading" };

export type FileHeaderResult = { ok: true; header: GgufHeader } | { ok: false; problem: FileProblem };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Reads the header of `path`, expected to be the regular file `expected` (dev and inode from its stat). */
export function readHeaderOfFile(path: string, expected: { dev: number; ino: number }, fs: FileSystem, offset = 0): FileHeaderResult {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_FLAGS);
  } catch (error) {
    return { ok: false, problem: { code: "unreadable", errno: errnoOf(error) } };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.dev !== expected.dev || stat.ino !== expected.ino)
      return { ok: false, problem: { code: "changed-while-reading" } };
    return readGgufHeader({
      size: stat.size - offset,
      read(target, position) {
        try {
          return fs.readSync(fd, target, 0, target.length, position + offset);
        } catch (error) {
          return { errno: errnoOf(error) };
        }
      },
    });
  } catch (error) {
    return { ok: false, problem: { code: "unreadable", errno: errnoOf(error) } };
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // Nothing was written; a failed close loses nothing.
    }
  }
}
