/**
 * Where discovery looks when `modelDirs` is not set: `~/models` and llama.cpp's download cache
 * (`$LLAMA_CACHE`, else `~/.cache/llama.cpp`), those that are folders. Its own module so pi's
 * start path can tell there is nothing to scan without loading discovery.
 */
import { join } from "node:path";
import { type FileSystem, realFileSystem } from "./file-system.ts";

/** Both default folders, whether they exist or not (for a message saying where discovery looked). */
export function defaultModelDirCandidates(env: { HOME: string; LLAMA_CACHE?: string }): string[] {
  return [join(env.HOME, "models"), env.LLAMA_CACHE || join(env.HOME, ".cache", "llama.cpp")];
}

export function defaultModelDirs(env: { HOME: string; LLAMA_CACHE?: string }, fs: FileSystem = realFileSystem): string[] {
  return defaultModelDirCandidates(env).filter((dir) => {
    try {
      return fs.statSync(dir).isDirectory();
    } catch {
      return false;
    }
  });
}
