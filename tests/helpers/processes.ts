/** OS-level checks the integration tests assert on: is a pid alive, what listens on a port. */
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still "exists": look at its state too.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/*
 * Ports for servers that bind them later (a fake llamafile may boot for seconds): a port the OS
 * picks for bind(0) is free again at once, and it handed the same one to a test in another
 * worker while the first server still booted, so one test took the other's server for its own.
 * Each worker takes ports from its own slice of 20000-31999, below the range the OS uses for
 * bind(0) and outgoing connections (32768-60999 here), and never hands one out twice.
 */
const PORTS_PER_WORKER = 3_000;
const firstPort = 20_000 + (Number(process.env.VITEST_POOL_ID ?? 0) % 4) * PORTS_PER_WORKER;
let nextPort = firstPort;

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/** A port nothing listens on right now, and that no other test of this run was given (tests bind 127.0.0.1 only). */
export async function freePort(): Promise<number> {
  while (nextPort < firstPort + PORTS_PER_WORKER) {
    const port = nextPort++;
    if (await bindable(port)) return port;
  }
  throw new Error(`freePort: this worker used its ${PORTS_PER_WORKER} ports from ${firstPort}; raise PORTS_PER_WORKER.`);
}

/**
 * pids of running processes whose command line contains every one of `needles`. A process that
 * is exiting has lost its command line before it is gone: to wait until one is gone, wait on its
 * pid (`isAlive`), not on this.
 */
export function findProcesses(...needles: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (needles.every((needle) => cmdline.includes(needle)) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** GET /v1/models on loopback: the "HTTP probe of the port" each integration test asserts. */
export async function probeModels(port: number): Promise<{ status: number; ids: string[] } | "refused"> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/models`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json().catch(() => ({}))) as { data?: Array<{ id: string }> };
    return { status: response.status, ids: (body.data ?? []).map((d) => d.id) };
  } catch {
    return "refused";
  }
}

/**
 * For afterEach: SIGKILLs every child still in `live` (with `group`, its whole process group) and
 * resolves once each has exited.
 */
export async function killChildren(live: Set<ChildProcess>, options: { group?: boolean } = {}): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        process.kill(options.group ? -child.pid! : child.pid!, "SIGKILL");
      } catch {
        // gone
      }
      await exited;
    }),
  );
}
