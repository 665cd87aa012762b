// Quitting pi while only an adopted server is tracked does not stop that
// server and writes nothing to stderr.
import { afterEach, expect, test } from "vitest";
import { FAKE_CONTEXT_LINE, fakeModelEntry, firstLines, startExternalServer } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("quit leaves an adopted server running and silent", async () => {
  const port = await freePort();
  const external = await startExternalServer({ port, ids: ["model-a"] });
  try {
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })] });
    await pi.select("llamafiles/model-a");
    await pi.prompt("hi");
    expect(firstLines(await pi.command("/llamafiles"))).toBe(
      `Running: A (id=model-a, port=${port}, pid=adopted, status=ready)\n${FAKE_CONTEXT_LINE}`,
    );

    await pi.quit();

    expect(pi.stderr.filter((l) => l.includes("llamafile"))).toEqual([]);
    expect(isAlive(external.pid)).toBe(true);
    expect(await probeModels(port)).toEqual({ status: 200, ids: ["model-a"] });
  } finally {
    await external.stop();
  }
});
