// The exit status reported for a server pi spawned: the keeper's when it has one, else pi's own
// child's (real child processes), else none after the wait.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { expect, test } from "vitest";
import { withLeaderStatus } from "../../src/llamafiles/process/leader-status.ts";

type Status = [number | null, string | null];
const reported = (event: { code: number | null; signal: string | null }, child: Parameters<typeof withLeaderStatus>[1], waitMs = 5_000) =>
  new Promise<Status>((resolve) => withLeaderStatus(event, child, waitMs, (code, signal) => resolve([code, signal])));
const exitsWith = (code: number, afterMs: number) =>
  spawn(process.execPath, ["-e", `setTimeout(() => process.exit(${code}), ${afterMs})`], { stdio: "ignore" });

test("the keeper's status wins when it has one", async () => {
  const child = exitsWith(3, 0);
  expect(await reported({ code: null, signal: "SIGTERM" }, child)).toEqual([null, "SIGTERM"]);
  await once(child, "exit");
});

test("no status from the keeper, the child still running: its exit status once it ends", async () => {
  const child = exitsWith(3, 300);
  expect(await reported({ code: null, signal: null }, child)).toEqual([3, null]);
});

test("no status from the keeper, the child already ended: its exit status at once", async () => {
  const child = exitsWith(7, 0);
  await once(child, "exit");
  expect(await reported({ code: null, signal: null }, child)).toEqual([7, null]);
});

test("no status anywhere: none, after the wait, for a server pi did not spawn or a child that never says", async () => {
  expect(await reported({ code: null, signal: null }, undefined)).toEqual([null, null]);
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    expect(await reported({ code: null, signal: null }, child, 100)).toEqual([null, null]);
  } finally {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
});
