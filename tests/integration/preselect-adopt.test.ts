// Launching pi with A preselected while A's server already runs (started
// outside pi) adopts it: no second process, and pi completes a chat turn.
import { afterEach, expect, test } from "vitest";
import { FAKE_CONTEXT_LINE, FAKE_SERVER, fakeModelEntry, firstLines, runTag, startExternalServer } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { findProcesses, freePort, isAlive, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("a preselected model whose server already runs is adopted, not started twice", async () => {
  const port = await freePort();
  const external = await startExternalServer({ port, ids: ["model-a"] });
  try {
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })], preselect: "llamafiles/model-a" });

    await waitFor(() => pi.notifications().some((n) => n.message === `Adopted existing A on port ${port}`), "adoption");
    expect(await pi.prompt("hi")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
    expect(findProcesses(FAKE_SERVER, runTag())).toEqual([external.pid]);
    expect(firstLines(await pi.command("/llamafiles"))).toBe(
      `Running: A (id=model-a, port=${port}, pid=adopted, status=ready)\n${FAKE_CONTEXT_LINE}`,
    );
    expect(isAlive(external.pid)).toBe(true);
  } finally {
    await external.stop();
  }
});
