/**
 * Signals pi sends itself: only to a server group left behind (its keeper is gone), and only
 * while a live member of the group carries the server's marker, so a process that merely
 * took over a recycled pid or group id is never signalled. The stop itself is the one stop
 * story (src/llamafiles/process/stop-group.mjs) the keeper runs too; while a keeper runs, it
 * alone signals its server (src/llamafiles/process/keeper.mjs).
 */

import { llamafilesTimeouts } from "../../timeouts.ts";
import { sleep } from "../../util/sleep.ts";
import { groupStillThere, markedGroupMembers, processStartTime } from "./process-proof.ts";
import { STOP_GIVE_UP_MS, stopGroup } from "./stop-group.mjs";

/** Proven: the group still has a member carrying the marker (Linux); elsewhere: the leader still runs. */
function groupIsOurs(pid: number, marker: string): boolean {
  if (process.platform === "linux") return markedGroupMembers(pid, marker).length > 0;
  return processStartTime(pid) !== undefined;
}

/**
 * Stops a server nobody keeps any more, the way its keeper would have (SIGTERM, the grace,
 * SIGKILL). Resolves once the group is gone, or pi gave up waiting; nothing is sent unless
 * the group is proven to be the server's.
 */
export async function stopLeftBehind(server: { pid: number; marker: string }): Promise<{ forced: boolean }> {
  if (!groupIsOurs(server.pid, server.marker)) return { forced: false };
  const { forced } = await stopGroup({
    signal(signal) {
      if (!groupIsOurs(server.pid, server.marker)) return false;
      try {
        process.kill(-server.pid, signal);
        return true;
      } catch {
        return false; // gone meanwhile
      }
    },
    isGone: () => !groupStillThere(server.pid, server.marker),
    pollMs: llamafilesTimeouts.groupGonePollMs,
    giveUpMs: STOP_GIVE_UP_MS,
  });
  return { forced };
}

/** Resolves once no member of the server's group is left (another pi is stopping it), or when that stop would have given up. */
export async function waitUntilGone(server: { pid: number; marker: string }, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + STOP_GIVE_UP_MS;
  while (groupStillThere(server.pid, server.marker) && Date.now() < deadline) await sleep(llamafilesTimeouts.groupGonePollMs, signal);
}
