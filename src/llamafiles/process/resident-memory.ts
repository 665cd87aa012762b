/**
 * What a server really holds in memory, for /llamafiles to show beside the estimate: the
 * resident set (VmRSS) of every process in its process group, read from /proc. The group, not
 * the pid alone: pi starts each server as the leader of a group of its own, and a wrapper (`sh`
 * running a llamafile, a script around llama-server) may lead it while the model lives in a child.
 * Undefined where there is no /proc (macOS) or the group has no process left.
 */
import { readFile } from "node:fs/promises";
import { groupMembers } from "./process-proof.ts";

/** VmRSS of a /proc/<pid>/status text, in bytes (a kernel thread has none). */
export function residentOfStatus(status: string): number | undefined {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

export async function groupResidentBytes(groupId: number, proc = "/proc"): Promise<number | undefined> {
  const sizes = await Promise.all(
    groupMembers(groupId, proc).map(async (pid) => {
      try {
        return residentOfStatus(await readFile(`${proc}/${pid}/status`, "utf8"));
      } catch {
        // Gone meanwhile, or not ours to read.
        return undefined;
      }
    }),
  );
  const found = sizes.filter((size): size is number => size !== undefined);
  return found.length > 0 ? found.reduce((sum, size) => sum + size, 0) : undefined;
}
