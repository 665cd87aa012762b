/**
 * Ports of discovered models (pure). Each model's port comes from a hash of its id, so pi after a
 * restart, and a second pi on the same machine, pick the same port for the same model and find
 * (adopt or share) a server already running there.
 *
 * The range 14200-14999: below 32768 (Linux hands out ports from 32768 up to outgoing
 * connections, which could hold a model's port at random), and clear of well-known services
 * (MongoDB 27017, Syncthing 22000, Minecraft 25565, Kubernetes node ports 30000-32767, Ollama
 * 11434, 8080-style web ports) and of llama-server's default 8080.
 */
import { fnv1a } from "./model-identity.ts";

export interface PortRange {
  first: number;
  last: number;
}

export const DISCOVERY_PORTS: PortRange = { first: 14200, last: 14999 };

const SIZE = DISCOVERY_PORTS.last - DISCOVERY_PORTS.first + 1;

/** Where a model's port search starts: its id's hash in the range. */
export function preferredPort(id: string): number {
  return DISCOVERY_PORTS.first + (fnv1a(id) % SIZE);
}

/**
 * A port per id. Ids are taken in sorted order; each gets its preferred port, or the next free
 * one after it (wrapping round the range), never one in `reserved` (explicit models' ports), one
 * in `blocked` (config.ts's FETCH_BAD_PORTS: passed in, not imported, so config.ts can import
 * discovery), or one given to an earlier id. Undefined when the range is full. The same set of
 * ids always gets the same ports; a collision moves only the later id of the two.
 */
export function assignPorts(ids: string[], reserved: Iterable<number>, blocked: ReadonlySet<number>): Map<string, number | undefined> {
  const taken = new Set(reserved);
  const ports = new Map<string, number | undefined>();
  for (const id of [...ids].sort()) {
    const start = preferredPort(id) - DISCOVERY_PORTS.first;
    let port: number | undefined;
    for (let step = 0; step < SIZE && port === undefined; step++) {
      const candidate = DISCOVERY_PORTS.first + ((start + step) % SIZE);
      if (!taken.has(candidate) && !blocked.has(candidate)) port = candidate;
    }
    if (port !== undefined) taken.add(port);
    ports.set(id, port);
  }
  return ports;
}
