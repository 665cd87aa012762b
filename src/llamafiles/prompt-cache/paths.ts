/**
 * Where pi keeps the prompt caches of the servers it starts: `~/.pi/llamafile_cache/<model id>/`
 * (HOME is read at call time: tests and the demo change it), a folder this user alone can
 * enter (0700, never through a symlink: src/llamafiles/process/paths.ts `privateDir`). Beside
 * the model folders lives the discovery header cache (`discovery.json`): a model folder never
 * takes a name ending in `.json`.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { safeFileName } from "../process/paths.ts";

export function promptCacheRoot(): string {
  return join(process.env.HOME || homedir(), ".pi", "llamafile_cache");
}

/** The folder of one model's saved caches. */
export function promptCacheDir(modelId: string): string {
  const safe = safeFileName(modelId);
  // A model id "discovery.json" (or anything ending in .json) would take a file name of the root's.
  const name = /\.json$/i.test(safe) ? `${safe}-${createHash("sha256").update(modelId).digest("hex").slice(0, 8)}` : safe;
  return join(promptCacheRoot(), name);
}

/** A pi session as a file name part: its id when that is safe (pi's are UUIDs), else a hash of it. */
export function sessionKey(sessionId: string): string {
  return /^[A-Za-z0-9_-]{1,80}$/.test(sessionId) ? sessionId : createHash("sha256").update(sessionId).digest("hex").slice(0, 32);
}
