/**
 * Signals pi sends itself: only to a server group left behind (its keeper is gone), and only
 * while a live member of the group carries the server's marker, so a process that merely
 * took over a recycled pid or group id is never signalled. Servers are group leaders, so the
 * group is signalled: a wrapper (`sh -c …`) cannot orphan the real server. While a keeper runs,
 * it alone signals its server (src/llamafiles/process/keeper.mjs).
 */
import { sleep } from "../../pi-session/sleep.ts";
import { llamafilesTimeouts } from "../../timeouts.ts";
import { markedGroupMembers, processStartTime } from "./process-proof.ts";

/** Proven: the group still has a member carrying the marker (Linux); elsewhere: the leader still runs. */
function groupIsOurs(pid: number, marker: string): boolean {
  if (process.platform === "linux") return markedGroupMembers(pid, marker).length > 0;
  return processStartTime(pid) !== undefined;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone meanwhile
  }
}

/**
 * The stop sequence for a server nobody keeps any more: SIGTERM to its group, SIGKILL after
 * `graceMs` if a member is still there. Resolves once the group is gone (or pi gives up after
 * twice the grace); nothing is sent unless the group is proven to be the server's.
 */
export async function stopLeftBehind(server: { pid: number; marker: string }, graceMs: number): Promise<{ forced: boolean }> {
  if (!groupIsOurs(server.pid, server.marker)) return { forced: false };
  signalGroup(server.pid, "SIGTERM");
  const termAt = Date.now();
  let forced = false;
  while (groupIsOurs(server.pid, server.marker)) {
    const elapsed = Date.now() - termAt;
    if (!forced && elapsed >= graceMs) {
      forced = true;
      signalGroup(server.pid, "SIGKILL");
    }
    if (elapsed > 2 * graceMs) break;
    await sleep(llamafilesTimeouts.groupGonePollMs);
  }
  return { forced };
}

/** Resolves once no member of the server's group is left (another pi is stopping it), or after `timeoutMs`. */
export async function waitUntilGone(server: { pid: number; marker: string }, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupIsOurs(server.pid, server.marker) && Date.now() < deadline) await sleep(llamafilesTimeouts.groupGonePollMs, signal);
}
