// Quitting pi waits for its servers to stop, but not for ever: a server that would not end even
// after SIGKILL (stuck in the kernel) must not hang /quit. Past the wait, pi says so and leaves
// the stop to the server's keeper. Here the wait is shortened below the keeper's 5 s grace, and a
// server that ignores SIGTERM stands for the stuck one: pi is done first, the keeper still
// finishes the stop.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import type { LocalNotice } from "../../src/llamafiles/supervisor.ts";
import { createLocalSupervisor } from "../../src/llamafiles/supervisor.ts";
import { fakeModelEntry, REPO_ROOT } from "../helpers/fake-llamafile.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

let end: (() => Promise<void>) | undefined;
afterEach(async () => {
  await end?.();
  end = undefined;
});

test("quitting stops waiting for a server that will not stop, says so, and its keeper finishes the stop", async () => {
  process.env.HOME = mkdtempSync(join(tmpdir(), "quit-deadline-"));
  const port = await freePort();
  const entry = fakeModelEntry({ id: "stuck", name: "Stuck", port, flags: ["--ignore-sigterm"] });
  const stuck = {
    id: "stuck",
    name: "Stuck",
    port,
    command: entry.command as string,
    args: entry.args as string[],
    env: {},
    cwd: REPO_ROOT,
    logPath: join(process.env.HOME, "stuck.log"),
  };
  const supervisor = createLocalSupervisor({ fleet: { keepWarm: 1, models: [stuck] }, timeouts: { quitWaitMs: 500 } });
  const notices: LocalNotice[] = [];
  supervisor.onNotice((notice) => notices.push(notice));
  supervisor.sessionStarted(undefined);
  await supervisor.ensureReady("stuck");
  const pid = supervisor.status.current().servers[0]!.status.pid!;
  end = async () => {
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  };

  await supervisor.end("quit");
  // Done before the keeper's 5 s grace could end the server: pi did not wait for it.
  expect(isAlive(pid)).toBe(true);
  expect(notices).toContainEqual({ kind: "quit-without-waiting", waitedMs: 500, stillStopping: ["Stuck"] });
  // The keeper goes on: SIGKILL at 5 s.
  await waitFor(() => !isAlive(pid), "the keeper to finish the stop", 15_000);
  expect(await probeModels(port)).toBe("refused");
});
