/**
 * Which llama-server runs discovered GGUF models: the configured `llamaServer` (a path, or a
 * name looked up on PATH), else `llama-server` on PATH, resolved once to an absolute path so the
 * command does not change under pi when PATH does.
 */
import { constants } from "node:fs";
import { isAbsolute, join } from "node:path";
import { errnoOf } from "../../util/errno.ts";
import type { FileSystem } from "./file-system.ts";

export type ServerCommandProblem =
  | { code: "llama-server-not-found"; name: string; searched: string[] }
  | { code: "llama-server-unusable"; path: string; errno: string };

export type ServerCommand = { ok: true; command: string } | { ok: false; problem: ServerCommandProblem };

function executableFile(path: string, fs: FileSystem): string | undefined {
  try {
    if (!fs.statSync(path).isFile()) return "EISDIR";
    fs.accessSync(path, constants.X_OK);
    return undefined;
  } catch (error) {
    return errnoOf(error);
  }
}

export function findLlamaServer(input: {
  configured: string | undefined;
  pathVariable: string | undefined;
  fs: FileSystem;
}): ServerCommand {
  const name = input.configured ?? "llama-server";
  if (name.includes("/")) {
    if (!isAbsolute(name)) return { ok: false, problem: { code: "llama-server-unusable", path: name, errno: "not-absolute" } };
    const errno = executableFile(name, input.fs);
    return errno ? { ok: false, problem: { code: "llama-server-unusable", path: name, errno } } : { ok: true, command: name };
  }
  // Relative PATH entries (and the empty one, the working directory) are not searched: a
  // model's command must not depend on the folder pi was started in.
  const searched = (input.pathVariable ?? "").split(":").filter((dir) => isAbsolute(dir));
  for (const dir of searched) {
    const candidate = join(dir, name);
    if (executableFile(candidate, input.fs) === undefined) return { ok: true, command: candidate };
  }
  return { ok: false, problem: { code: "llama-server-not-found", name, searched } };
}
