import { connect } from "node:net";
import { sleep } from "../../util/sleep.ts";

function portAcceptsConnections(port: number, connectMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "localhost" });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(connectMs, () => done(true));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Polls until nothing accepts connections on `port` (a wrapper's child may still hold it after the leader exited). */
export async function waitUntilPortFree(
  port: number,
  options: { timeoutMs: number; pollMs: number; connectMs: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (await portAcceptsConnections(port, options.connectMs)) {
    // Still busy after the bound: the caller goes ahead (the next start reports what it finds).
    if (Date.now() > deadline) throw new Error(`port ${port} still busy`);
    await sleep(options.pollMs, options.signal);
  }
}
