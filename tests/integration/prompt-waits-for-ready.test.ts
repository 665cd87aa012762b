// Selecting a model never freezes pi; a prompt sent before the server is ready
// waits for it; Esc (abort) cancels that prompt only, and the model keeps starting.
// A server advertising another id than the configured one gets one warning.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, startPi } from "../helpers/pi-harness.ts";
import { freePort, waitFor } from "../helpers/processes.ts";

afterEach(cleanupAll);

/** A model whose server stays loading until the test opens its gate. */
async function heldModel() {
  const port = await freePort();
  const home = makeHome();
  const gate = join(home, "loaded");
  const pi = await startPi({ home, llamafiles: [fakeModelEntry({ id: "slow", name: "Slow", port, flags: ["--loaded-when-file", gate] })] });
  return { pi, port, letItLoad: () => writeFileSync(gate, "") };
}

const settled = (promise: Promise<unknown>) =>
  Promise.race([promise.then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);

test("selection returns at once; the prompt waits for readiness", async () => {
  const { pi, letItLoad } = await heldModel();

  // The server cannot be ready before letItLoad(): select returning proves it did not wait.
  await pi.select("llamafiles/slow");
  await waitFor(() => pi.footer().at(-1) === "Starting Slow...", "the footer to say Slow is starting");

  const answer = pi.prompt("hi");
  expect(await settled(answer)).toBe(false);
  letItLoad();
  expect(await answer).toEqual({ text: "Hello from the fake llamafile", error: undefined });
});

test("Esc cancels the waiting prompt only; the server keeps starting", async () => {
  const { pi, letItLoad } = await heldModel();
  await pi.select("llamafiles/slow");

  const prompt = pi.prompt("hi");
  await new Promise((r) => setTimeout(r, 300));
  await pi.runtime.session.abort();
  const result = await prompt;

  expect(result.text).toBe("");
  expect(pi.runtime.session.messages.at(-1)).toMatchObject({ role: "assistant", stopReason: "aborted" });
  letItLoad();
  await waitFor(() => pi.notifications().some((n) => n.message === "Slow is ready"), "Slow to become ready anyway");
  expect(await pi.prompt("again")).toEqual({ text: "Hello from the fake llamafile", error: undefined });
});

test("an advertised id other than the configured one is warned about once", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "qwen", name: "Qwen", port, advertise: ["qwen.gguf"] })] });
  await pi.select("llamafiles/qwen");
  await pi.prompt("hi");
  await pi.prompt("hi again");
  const warnings = pi.notifications().filter((n) => n.type === "warning");
  expect(warnings).toEqual([
    {
      type: "warning",
      message: `Qwen advertises "qwen.gguf" on /v1/models, not "qwen". Chat works, but a server started outside pi is adopted only when the ids match: add --alias qwen to its args (llama-server), or set "id" to what it advertises.`,
    },
  ]);
});
