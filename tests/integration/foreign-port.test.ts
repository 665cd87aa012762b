// An unrelated server on A's port, then selecting A: pi asks nothing and never kills it; the
// error says how to free the port, and a prompt to A looks again and says it again. With or
// without a UI, the same.
import { afterEach, expect, test } from "vitest";
import { fakeModelEntry, startExternalServer } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("a foreign server on the port is never killed: no dialog, a notice that says how to free the port", async () => {
  const port = await freePort();
  const foreign = await startExternalServer({ port, ids: ["someone-else"] });
  try {
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })] });
    await pi.select("llamafiles/model-a");

    await waitFor(() => pi.notifications().some((n) => n.type === "error"), "the error");
    expect(pi.ui.confirms).toEqual([]);
    const error = pi.notifications().find((n) => n.type === "error")!.message;
    expect(error).toBe(
      `Port ${port} is in use by a different server (advertises someone-else); pi did not start it and will not stop it. Free the port (kill $(lsof -t -i:${port})) or give A another "port" in ~/.pi/agent/models.json; the next prompt tries again.`,
    );
    expect(isAlive(foreign.pid)).toBe(true);
    expect(await probeModels(port)).toEqual({ status: 200, ids: ["someone-else"] });
    expect(await pi.command("/llamafiles")).toBe("No llamafile server is running");
    // A prompt to A looks again and fails with the same words, instead of hanging.
    expect((await pi.prompt("hi")).error).toBe(error);
    expect(pi.ui.confirms).toEqual([]);
    expect(isAlive(foreign.pid)).toBe(true);
  } finally {
    await foreign.stop();
  }
});

test("without a UI, the same error", async () => {
  const port = await freePort();
  const foreign = await startExternalServer({ port, ids: ["someone-else"] });
  try {
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })], noUi: true });
    await pi.select("llamafiles/model-a");
    const result = await pi.prompt("hi");
    expect(result.error).toMatch(new RegExp(`^Port ${port} is in use by a different server \\(advertises someone-else\\)`));
    expect(pi.ui.confirms).toEqual([]);
    expect(isAlive(foreign.pid)).toBe(true);
  } finally {
    await foreign.stop();
  }
});
