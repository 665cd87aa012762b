/**
 * The one I/O seam of discovery: the synchronous file calls it makes. Tests replace single
 * calls (an `EACCES` on open: tests run as root, and root reads a mode-000 file) and nothing else.
 */
import * as fs from "node:fs";

export type FileSystem = Pick<
  typeof fs,
  | "opendirSync"
  | "statSync"
  | "lstatSync"
  | "realpathSync"
  | "openSync"
  | "readSync"
  | "fstatSync"
  | "closeSync"
  | "accessSync"
  | "mkdirSync"
  | "writeSync"
  | "renameSync"
  | "unlinkSync"
>;

export const realFileSystem: FileSystem = fs;
