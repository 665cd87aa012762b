/**
 * Suite-level check: no process the tests spawned survives the run, even after a failing test.
 * Every fake server carries the run's tag, and every keeper runs this checkout's keeper.mjs;
 * after the whole run (allowing a keeper the stop grace it may still be using), any process
 * still there is killed and the run fails, naming it.
 */
import { randomUUID } from "node:crypto";
import { KEEPER } from "../../src/llamafiles/process/spawn.ts";
import { findProcesses } from "./processes.ts";

const GRACE_MS = 7_000;

export default function setup() {
  const tag = `pi-llama-test-${randomUUID().slice(0, 8)}`;
  process.env.PI_LLAMA_TEST_RUN = tag;
  return async () => {
    // (The fake server runs compiled, as node_modules/.cache/…/fake-server-<version>.mjs.)
    const survivors = () => [...findProcesses("fake-server", tag), ...findProcesses(KEEPER)];
    const deadline = Date.now() + GRACE_MS;
    while (survivors().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const left = survivors();
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (left.length > 0) throw new Error(`processes started by the tests survived the run (now killed): pids ${left.join(", ")}`);
  };
}
