/**
 * The exit status a local server's stop or crash is reported with. The keeper waits only a moment for the leader's exit status once the group is gone; on a busy
 * machine pi's own 'exit' event can come later. pi spawned the leader, so it asks its child.
 */
import type { ChildProcess } from "node:child_process";

export function withLeaderStatus(
  event: { code: number | null; signal: string | null },
  child: ChildProcess | undefined,
  waitMs: number,
  exited: (code: number | null, signal: string | null) => void,
): void {
  if (event.code !== null || event.signal !== null || !child) return void exited(event.code, event.signal);
  if (child.exitCode !== null || child.signalCode !== null) return void exited(child.exitCode, child.signalCode);
  const noStatus = setTimeout(() => exited(null, null), waitMs);
  child.once("exit", (code, signal) => {
    clearTimeout(noStatus);
    exited(code, signal);
  });
}
