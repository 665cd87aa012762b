// Selecting model A starts its process; the footer reads "Starting A..." then
// "A running"; pi completes a chat turn against it.
import { afterEach, expect, test } from "vitest";
import { FAKE_CONTEXT_LINE, FAKE_FIGURES, fakeModelEntry, requestsSeen } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort, isAlive, probeModels } from "../helpers/processes.ts";

afterEach(cleanupAll);

test("selecting a llamafiles model starts it, shows progress in the footer, and chats", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port, flags: ["--startup-delay-ms", "300", "--reply", "Hi from A"] })],
  });
  expect(await probeModels(port)).toBe("refused");

  await pi.select("llamafiles/model-a");
  // The prompt waits for readiness inside the provider (selection itself returned at once).
  const answer = await pi.prompt("hello");

  expect(answer).toEqual({ text: "Hi from A", error: undefined });
  expect(pi.footer()).toEqual(["Starting A...", "A running", `A · ${FAKE_FIGURES}`]);
  expect(pi.notifications()).toContainEqual({ message: "A is ready", type: "info" });
  const probe = await probeModels(port);
  expect(probe).toEqual({ status: 200, ids: ["model-a"] });
  const report = await pi.command("/llamafiles");
  const pid = Number(/pid=(\d+)/.exec(report ?? "")?.[1]);
  const [running, context, last] = report!.split("\n");
  expect([running, context]).toEqual([`Running: A (id=model-a, port=${port}, pid=${pid}, status=ready)`, FAKE_CONTEXT_LINE]);
  // "Hi from A" streams as 3 chunks; the prompt is pi's system prompt and "hello", nothing cached yet.
  expect(last).toMatch(/^ {2}last answer: 3 tokens at 50 tok\/s, prompt [\d,]+ tokens at 2\.0k tok\/s, 0% of the prompt from the cache$/);
  expect(isAlive(pid)).toBe(true);
});

test("requests carry the configured id, the documented max_tokens default (8192) and the placeholder key", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "model-a", name: "A", port })] });
  await pi.select("llamafiles/model-a");
  await pi.prompt("hello");
  expect(requestsSeen(pi.home, "model-a")).toEqual([
    "POST /v1/chat/completions model=model-a stream=true max_tokens=8192 auth=Bearer llamafiles-not-needed",
  ]);
});

test("a one-token answer shows its count, not a rate, in the footer and in /llamafiles", async () => {
  const port = await freePort();
  // "Hi" streams as one chunk: the server reports 1 generated token.
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "tiny-a", name: "Tiny A", port, flags: ["--reply", "Hi"] })] });
  await pi.select("llamafiles/tiny-a");
  expect(await pi.prompt("hello")).toEqual({ text: "Hi", error: undefined });
  expect(pi.footer().at(-1)).toBe("Tiny A · 1 token · prompt 2.0k tok/s · cache 0%");
  const last = (await pi.command("/llamafiles"))!.split("\n")[2];
  expect(last).toMatch(/^ {2}last answer: 1 token, prompt [\d,]+ tokens at 2\.0k tok\/s, 0% of the prompt from the cache$/);
});
