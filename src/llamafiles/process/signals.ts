/**
 * Servers are spawned as process-group leaders, so we signal the group: a wrapper
 * (`sh -c …`, a llamafile APE loader) cannot orphan the real server.
 */
import { KILL_GRACE_MS } from "../../../machines/local-server.machine.ts";

export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      // The leader may have exited while the group lives on under another leader-less id;
      // fall back to the process itself.
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The stop sequence for a group the chart no longer drives (its actor was torn down, or pi
 * exits): SIGTERM now, SIGKILL after the chart's own grace if it is still alive. The timer
 * never keeps pi alive.
 */
export function endProcessGroup(pid: number): void {
  signalGroup(pid, "SIGTERM");
  setTimeout(() => {
    if (isAlive(pid)) signalGroup(pid, "SIGKILL");
  }, KILL_GRACE_MS).unref();
}
