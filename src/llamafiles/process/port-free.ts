import { connect } from "node:net";
import { sleep } from "../server-http.ts";

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "localhost" });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(500, () => done(true));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Polls until nothing accepts connections on `port` (a wrapper's child may still hold it after the leader exited). */
export async function waitUntilPortFree(port: number, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (await portAcceptsConnections(port)) {
    if (Date.now() > deadline) {
      throw new Error(`port ${port} is still in use ${options.timeoutMs / 1000} s after the server stopped (see: lsof -i :${port})`);
    }
    await sleep(50, options.signal);
  }
}
