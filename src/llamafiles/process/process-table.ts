/**
 * Every server process this pi process spawned, kept on `globalThis` because `/reload`
 * re-evaluates our modules while the children live on. The next extension instance
 * finds its predecessor's child here (exact exit status, no polling), and the
 * `exit` safety net stops whatever is still owned if pi dies without `session_shutdown`.
 */
import type { ChildProcess } from "node:child_process";
import { endProcessGroup } from "./signals.ts";

export interface ProcessExitStatus {
  code: number | null;
  signal: string | null;
}

interface Entry {
  child: ChildProcess;
  exit: ProcessExitStatus | undefined;
  waiters: Set<(status: ProcessExitStatus) => void>;
}

interface Table {
  entries: Map<number, Entry>;
  safetyNetInstalled: boolean;
}

const KEY = Symbol.for("pi-llama-supervisor.process-table");

function table(): Table {
  const holder = globalThis as unknown as Record<symbol, Table | undefined>;
  let current = holder[KEY];
  if (!current) {
    current = { entries: new Map(), safetyNetInstalled: false };
    holder[KEY] = current;
  }
  return current;
}

/** Track a freshly spawned child; `onExit` listeners fire once with its status. */
export function trackChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  const t = table();
  const entry: Entry = { child, exit: undefined, waiters: new Set() };
  t.entries.set(pid, entry);
  child.once("exit", (code, signal) => {
    entry.exit = { code, signal };
    for (const waiter of entry.waiters) waiter(entry.exit);
    entry.waiters.clear();
    t.entries.delete(pid);
  });
  installSafetyNet(t);
}

/** Is this pid a child of this pi process that is still running? */
export function isTrackedChild(pid: number): boolean {
  return table().entries.has(pid);
}

/** Calls `listener` when the tracked child exits; returns an unsubscribe. */
export function onChildExit(pid: number, listener: (status: ProcessExitStatus) => void): () => void {
  const entry = table().entries.get(pid);
  if (!entry) return () => {};
  entry.waiters.add(listener);
  return () => entry.waiters.delete(listener);
}

function installSafetyNet(t: Table): void {
  if (t.safetyNetInstalled) return;
  t.safetyNetInstalled = true;
  // pi can end without session_shutdown (SIGINT in print mode, an uncaught error).
  // A server we started must not outlive it then; `exit` handlers must be synchronous.
  process.once("exit", () => {
    for (const pid of t.entries.keys()) endProcessGroup(pid);
  });
}
