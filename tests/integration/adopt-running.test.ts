// Starting A's server outside pi, then selecting A inside pi, adopts it.
// An adopted server that goes away is reported, not restarted.
import { afterEach, expect, test } from "vitest";
import { FAKE_FIGURES, FAKE_SERVER, fakeModelEntry, runTag, startExternalServer } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { findProcesses, freePort, isAlive, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("selecting a model whose server already runs adopts it", async () => {
  const port = await freePort();
  const external = await startExternalServer({ port, ids: ["model-a"] });
  try {
    const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })] });
    await pi.select("llamafiles/model-a");

    expect(await pi.prompt("hi")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
    expect(pi.notifications()).toContainEqual({ message: `Adopted existing A on port ${port}`, type: "info" });
    expect(findProcesses(FAKE_SERVER, runTag())).toEqual([external.pid]);
    expect(pi.footer()).toEqual(["Starting A...", "A running", `A · ${FAKE_FIGURES}`]);
    expect(isAlive(external.pid)).toBe(true);
  } finally {
    await external.stop();
  }
});

test("an adopted server that disappears is reported and not restarted", async () => {
  const port = await freePort();
  const external = await startExternalServer({ port, ids: ["model-a"] });
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })] });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hi");

  await external.stop();

  await waitFor(() => pi.notifications().some((n) => n.type === "error"), "the loss to be reported", 15_000);
  expect(pi.notifications().find((n) => n.type === "error")?.message).toBe(
    `The adopted server for A on port ${port} stopped answering. pi did not start it, so its log is wherever it was started. The next prompt starts A under pi.`,
  );
  expect(findProcesses(FAKE_SERVER, runTag())).toEqual([]);
  expect(await pi.command("/llamafiles")).toBe("No llamafile server is running");
}, 20_000);
