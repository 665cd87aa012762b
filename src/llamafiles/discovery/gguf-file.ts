/**
 * A GGUF header read from a file on disk: a GGUF file, or the model stored inside a llamafile.
 * The scan has already checked (stat) that the path is a regular file; this opens it without
 * blocking (a FIFO swapped in since then returns at once instead of waiting for a writer
 * forever) and checks, on the open descriptor, that it is still that same regular file before
 * reading a byte.
 */
import { constants } from "node:fs";
import { errnoOf } from "../../util/errno.ts";
import type { FileSystem } from "./file-system.ts";
import { type ByteSource, type GgufHeader, type GgufProblem, readGgufHeader } from "./gguf-header.ts";
import { embeddedModel, type ZipProblem } from "./llamafile-zip.ts";

export type FileProblem = GgufProblem | ZipProblem | { code: "unreadable"; errno: string } | { code: "changed-while-reading" };

export type FileHeaderResult = { ok: true; header: GgufHeader } | { ok: false; problem: FileProblem };

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Opens `path`, checks it is still the regular file `expected` (dev and inode from its stat), and reads it through `read`. */
function withFile(
  path: string,
  expected: { dev: number; ino: number },
  fs: FileSystem,
  read: (source: ByteSource) => FileHeaderResult,
): FileHeaderResult {
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
    return read({
      size: stat.size,
      read(target, position) {
        try {
          return fs.readSync(fd, target, 0, target.length, position);
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
      // Only read from; a failed close loses nothing.
    }
  }
}

/** The header of the GGUF file `path`. */
export function readHeaderOfFile(path: string, expected: { dev: number; ino: number }, fs: FileSystem): FileHeaderResult {
  return withFile(path, expected, fs, readGgufHeader);
}

/** The header of the model stored inside the llamafile `path`. */
export function readHeaderOfLlamafile(path: string, expected: { dev: number; ino: number }, fs: FileSystem): FileHeaderResult {
  return withFile(path, expected, fs, (source) => {
    const model = embeddedModel(source);
    if (!model.ok) return model;
    return readGgufHeader({ size: model.bytes, read: (target, position) => source.read(target, model.offset + position) });
  });
}
