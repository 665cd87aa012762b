// Ownership survives the detach: /reload while B runs
// asks nothing and B keeps running (same process); afterwards /llamafiles reports B running
// again, and since pi started B, a later quit still stops it: no orphan after reload-then-quit.
// The same holds for /new, which re-runs the factory in the same module.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { FAKE_CONTEXT_LINE, fakeModelEntry, firstLines } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

const pidOf = (report: string | undefined) => Number(/pid=(\d+)/.exec(report ?? "")?.[1]);

test("/reload keeps B warm without a prompt, and quit afterwards still stops it", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port, flags: ["--reply", "still B"] })] });
  await pi.select("llamafiles/model-b");
  await pi.prompt("hi");
  const pid = pidOf(await pi.command("/llamafiles"));

  await pi.reload();

  expect(pi.ui.confirms).toEqual([]);
  expect(isAlive(pid)).toBe(true);
  expect(pi.stderr.filter((l) => l.includes("llamafile"))).toEqual([]);
  expect(await pi.prompt("after reload")).toEqual({ text: "still B", error: undefined });
  expect(firstLines(await pi.command("/llamafiles"))).toBe(
    `Running: B (id=model-b, port=${port}, pid=${pid}, status=ready)\n${FAKE_CONTEXT_LINE}`,
  );
  expect(pi.notifications().map((n) => n.message)).toContain(`Re-attached to B on port ${port} (pid ${pid}, started by pi earlier)`);

  await pi.quit();

  expect(pi.stderr.filter((l) => l.includes("llamafile"))).toEqual([`Stopping llamafile "B" (pid ${pid})...`, `Stopped llamafile "B".`]);
  expect(isAlive(pid)).toBe(false);
  expect(await probeModels(port)).toBe("refused");
});

test("/new keeps the server warm too, and the new session can switch away from it (stopping it)", async () => {
  const [portB, portC] = [await freePort(), await freePort()];
  const pi = await startPi({
    llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port: portB }), fakeModelEntry({ id: "model-c", name: "C", port: portC })],
  });
  await pi.select("llamafiles/model-b");
  await pi.prompt("hi");
  const pid = pidOf(await pi.command("/llamafiles"));

  await pi.runtime.newSession();

  expect(isAlive(pid)).toBe(true);
  const expected = `Running: B (id=model-b, port=${portB}, pid=${pid}, status=ready)\n${FAKE_CONTEXT_LINE}`;
  await waitFor(async () => firstLines(await pi.command("/llamafiles")) === expected, "the new session to re-attach to B");
  await pi.select("llamafiles/model-c");
  await pi.prompt("hi C");
  expect(isAlive(pid)).toBe(false);
});

test("a server that is still starting during /reload is picked up and waited for by the next instance", async () => {
  const port = await freePort();
  const home = makeHome();
  const loadedGate = join(home, "loaded"); // B stays loading until the test writes this file
  const pi = await startPi({
    home,
    llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port, flags: ["--loaded-when-file", loadedGate] })],
  });
  await pi.select("llamafiles/model-b");
  const starting = (pid: number) => `Running: B (id=model-b, port=${port}, pid=${pid}, status=starting)`;
  const pid = pidOf(await waitFor(() => pi.command("/llamafiles").then((r) => (/pid=\d+/.test(r ?? "") ? r : undefined)), "B's pid"));
  expect(firstLines(await pi.command("/llamafiles"))).toBe(starting(pid));

  await pi.reload();
  await waitFor(
    async () => firstLines(await pi.command("/llamafiles")) === starting(pid),
    "the new instance to re-attach to B, still starting",
  );

  const answer = pi.prompt("hi");
  writeFileSync(loadedGate, "");
  expect(await answer).toEqual({ text: "Hello from the fake llamafile", error: undefined });
  expect(firstLines(await pi.command("/llamafiles"))).toBe(
    `Running: B (id=model-b, port=${port}, pid=${pid}, status=ready)\n${FAKE_CONTEXT_LINE}`,
  );
});
