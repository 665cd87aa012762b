// An unrelated server on A's port, then selecting A: the user is asked (default
// No); whatever the answer, pi never kills it and says how to free the port. Without a UI
// there is no dialog, only the error.
import { afterEach, expect, test } from "vitest";
import { fakeModelEntry, startExternalServer } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

for (const answer of [true, false]) {
  test(`a foreign server on the port is never killed (dialog answered ${answer ? "Yes" : "No"})`, async () => {
    const port = await freePort();
    const foreign = await startExternalServer({ port, ids: ["someone-else"] });
    try {
      const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })] });
      pi.ui.answerConfirm(answer);
      await pi.select("llamafiles/model-a");

      await waitFor(() => pi.notifications().some((n) => n.type === "error"), "the error");
      expect(pi.ui.confirms).toEqual([
        {
          title: "Port already in use",
          message: `Port ${port} is in use by a different server (advertises someone-else). Stop it and start A?`,
          answer,
        },
      ]);
      const error = pi.notifications().find((n) => n.type === "error")!.message;
      expect(error).toBe(
        `Port ${port} is in use by a different server (advertises someone-else); pi did not start it and will not stop it. Free the port (kill $(lsof -t -i:${port})) or give A another "port" in ~/.pi/agent/models.json; the next prompt tries again.`,
      );
      expect(isAlive(foreign.pid)).toBe(true);
      expect(await probeModels(port)).toEqual({ status: 200, ids: ["someone-else"] });
      expect(await pi.command("/llamafiles")).toBe("No llamafile server is running");
      // A prompt to A looks again and fails with the same words (asking once only), instead of hanging.
      expect((await pi.prompt("hi")).error).toBe(error);
      expect(pi.ui.confirms).toHaveLength(1);
    } finally {
      await foreign.stop();
    }
  });
}

test("without a UI there is no dialog, only the error", async () => {
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
