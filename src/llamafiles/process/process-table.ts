/**
 * The servers this pi process uses, by port, kept on `globalThis` because `/reload`
 * re-evaluates the extension's modules while the servers live on: the next extension instance
 * finds its predecessor's lease (and, for a server this pi spawned, the child, whose exit
 * status stays exact) here instead of joining as a second user.
 */
import type { ChildProcess } from "node:child_process";
import type { KeeperLease } from "./keeper-lease.ts";

export interface UsedServer {
  port: number;
  modelId: string;
  /** The server's pid, which is also its process group. */
  pid: number;
  lease: KeeperLease;
  /** Set when this pi process spawned the server (it is the leader's parent). */
  child?: ChildProcess;
  /** The environment marker the server carries (proof before any signal). */
  marker?: string;
}

const KEY = Symbol.for("pi-llama-supervisor.process-table");

function table(): Map<number, UsedServer> {
  const holder = globalThis as unknown as Record<symbol, Map<number, UsedServer> | undefined>;
  holder[KEY] ??= new Map();
  return holder[KEY];
}

export function usedServer(port: number): UsedServer | undefined {
  const entry = table().get(port);
  if (entry && !entry.lease.isOpen) {
    table().delete(port);
    return undefined;
  }
  return entry;
}

export function rememberServer(entry: UsedServer): void {
  table().set(entry.port, entry);
  entry.lease.on((event) => {
    if ((event.event === "lost" || event.event === "exited") && table().get(entry.port) === entry) table().delete(entry.port);
  });
}

export function forgetServer(port: number): void {
  table().delete(port);
}

export function usedServers(): UsedServer[] {
  return [...table().values()].filter((entry) => entry.lease.isOpen);
}
