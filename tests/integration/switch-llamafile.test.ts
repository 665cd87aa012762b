// Selecting model B mid-session stops A's process (no prompt), starts B's,
// and the chat continues against B.
import { afterEach, expect, test } from "vitest";
import { FAKE_CONTEXT_LINE, FAKE_FIGURES, fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("switching from A to B stops A without asking, starts B, and chats with B", async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const pi = await startPi({
    llamafiles: [
      fakeModelEntry({ id: "model-a", name: "A", port: portA, flags: ["--reply", "from A"] }),
      fakeModelEntry({ id: "model-b", name: "B", port: portB, flags: ["--reply", "from B"] }),
    ],
  });
  await pi.select("llamafiles/model-a");
  expect((await pi.prompt("hi")).text).toBe("from A");
  const pidA = Number(/pid=(\d+)/.exec((await pi.command("/llamafiles")) ?? "")?.[1]);
  expect(isAlive(pidA)).toBe(true);

  await pi.select("llamafiles/model-b");
  expect(await pi.prompt("and now?")).toEqual({ text: "from B", error: undefined });

  expect(pi.ui.confirms).toEqual([]);
  await waitFor(() => !isAlive(pidA), "A's process to be gone");
  expect(await probeModels(portA)).toBe("refused");
  expect(await probeModels(portB)).toEqual({ status: 200, ids: ["model-b"] });
  const [running, context] = (await pi.command("/llamafiles"))!.split("\n");
  expect(running).toMatch(new RegExp(`^Running: B \\(id=model-b, port=${portB}, pid=\\d+, status=ready\\)$`));
  expect(context).toBe(FAKE_CONTEXT_LINE);
  expect(pi.footer()).toEqual([
    "Starting A...",
    "A running",
    `A · ${FAKE_FIGURES}`,
    "Stopping A...",
    "Starting B...",
    "B running",
    `B · ${FAKE_FIGURES}`,
  ]);
  expect(pi.notifications().map((n) => n.message)).toEqual([
    "A is ready",
    expect.stringMatching(/^Running: A/),
    "B is ready",
    expect.stringMatching(/^Running: B/),
  ]);
});

test("two models on the same port: the next one starts only after the old one released it", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: [
      fakeModelEntry({ id: "model-a", name: "A", port, flags: ["--reply", "from A"] }),
      fakeModelEntry({ id: "model-b", name: "B", port, flags: ["--reply", "from B"] }),
    ],
  });
  await pi.select("llamafiles/model-a");
  expect((await pi.prompt("hi")).text).toBe("from A");
  await pi.select("llamafiles/model-b");
  expect(await pi.prompt("hi")).toEqual({ text: "from B", error: undefined });
  expect(await probeModels(port)).toEqual({ status: 200, ids: ["model-b"] });
  expect(pi.notifications().filter((n) => n.type === "error")).toEqual([]);
});

test("selecting A again while it is still stopping: a prompt waits for A to come back, and A answers", async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const pi = await startPi({
    llamafiles: [
      // A takes 600 ms to exit after SIGTERM: the second selection arrives while it stops.
      fakeModelEntry({ id: "model-a", name: "A", port: portA, flags: ["--reply", "from A", "--exit-delay-ms", "600"] }),
      fakeModelEntry({ id: "model-b", name: "B", port: portB, flags: ["--reply", "from B"] }),
    ],
  });
  await pi.select("llamafiles/model-a");
  expect((await pi.prompt("hi")).text).toBe("from A");
  await pi.select("llamafiles/model-b");
  await waitFor(() => pi.footer().includes("Stopping A..."), "A to be stopping");
  await pi.select("llamafiles/model-a");
  expect(await pi.prompt("back?")).toEqual({ text: "from A", error: undefined });
  expect(pi.notifications().filter((n) => n.type === "error")).toEqual([]);
});
