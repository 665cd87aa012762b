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
 * A port per id. First every id keeps the port it had (`previous`, the last discovery's result)
 * while that port is in the range and still free to take, so a model found later never moves a
 * model that may be running. Then the other ids, in sorted order, each get their preferred port,
 * or the next free one after it (wrapping round the range), never one in `reserved` (explicit
 * models' ports), one in `blocked` (config.ts's FETCH_BAD_PORTS: passed in, not imported, so
 * config.ts can import discovery), or one given to another id. Undefined when the range is full.
 * The same ids and the same previous ports always give the same ports.
 */
export function assignPorts(
  ids: string[],
  reserved: Iterable<number>,
  blocked: ReadonlySet<number>,
  previous: ReadonlyMap<string, number> = new Map(),
): Map<string, number | undefined> {
  const taken = new Set(reserved);
  const ports = new Map<string, number | undefined>();
  const sorted = [...ids].sort();
  for (const id of sorted) {
    const port = previous.get(id);
    if (port === undefined || port < DISCOVERY_PORTS.first || port > DISCOVERY_PORTS.last) continue;
    if (taken.has(port) || blocked.has(port)) continue;
    taken.add(port);
    ports.set(id, port);
  }
  for (const id of sorted) {
    if (ports.has(id)) continue;
    const start = preferredPort(id) - DISCOVERY_PORTS.first;
    let port: number | undefined;
    for (let step = 0; step < SIZE && port === undefined; step++) {
      const candidate = DISCOVERY_PORTS.first + ((start + step) % SIZE);
      if (!taken.has(candidate) && !blocked.has(candidate)) port = candidate;
    }
    if (port !== undefined) taken.add(port);
    ports.set(id, port);
  }
  return new Map(sorted.map((id) => [id, ports.get(id)]));
}
