/**
 * Suite-level check (issue: "no process the tests spawned survives, even after a failing
 * test"): every fake server carries the run's tag; after the whole run, any process still
 * carrying it is killed and the run fails, naming it.
 */
import { randomUUID } from "node:crypto";
import { findProcesses } from "./processes.ts";

export default function setup() {
  const tag = `pi-llama-test-${randomUUID().slice(0, 8)}`;
  process.env.PI_LLAMA_TEST_RUN = tag;
  return () => {
    const survivors = findProcesses("fake-server.ts", tag);
    for (const pid of survivors) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (survivors.length > 0) {
      throw new Error(`processes started by the tests survived the run (now killed): pids ${survivors.join(", ")}`);
    }
  };
}
