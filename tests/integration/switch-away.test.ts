// Selecting anthropic/<something> mid-session stops B's process;
// /llamafiles reports nothing running.
import { afterEach, beforeEach, expect, test } from "vitest";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

beforeEach(() => {
  // Makes anthropic models selectable; nothing is ever sent to Anthropic.
  process.env.ANTHROPIC_API_KEY = "test-key-never-used";
});
afterEach(cleanupAll);

test("selecting an Anthropic model stops the running llamafile", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-b", name: "B", port })] });
  await pi.select("llamafiles/model-b");
  await pi.prompt("hi");
  const pid = Number(/pid=(\d+)/.exec((await pi.command("/llamafiles")) ?? "")?.[1]);

  const anthropic = pi.runtime.services.modelRuntime.getModels("anthropic")[0]!;
  await pi.select(`anthropic/${anthropic.id}`);

  await waitFor(() => !isAlive(pid), "B's process to stop");
  expect(await probeModels(port)).toBe("refused");
  await waitFor(async () => (await pi.command("/llamafiles")) === "No llamafile server is running", "/llamafiles to report nothing");
  expect(pi.footer().at(-1)).toBeUndefined();
  expect(pi.ui.confirms).toEqual([]);
});
