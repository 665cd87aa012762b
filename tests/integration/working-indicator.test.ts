// The working indicator through the recording UI in a real pi runtime:
// setWorkingMessage("") on session_start and on every turn_start; frames read
// `⚙ <phrase> · <elapsed>` and say what pi waits for.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { fakeModelEntry } from "../helpers/fake-llamafile.ts";
import { cleanupAll, makeHome, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { freePort, waitFor } from "../helpers/processes.ts";

let testbed: AiServerTestbed | undefined;
afterEach(async () => {
  await cleanupAll();
  await testbed?.close();
  testbed = undefined;
});

const calls = (pi: PiHarness, method: string) => pi.ui.calls.filter((c) => c.method === method).map((c) => c.args);
const frames = (pi: PiHarness) => calls(pi, "setWorkingIndicator").map((args) => (args[0] as { frames: string[] }).frames);

test("session_start and each turn_start clear pi's 'Working...' message", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "m", name: "M", port })] });
  expect(calls(pi, "setWorkingMessage")).toEqual([[""]]);
  await pi.select("llamafiles/m");
  await pi.prompt("one");
  await pi.prompt("two");
  expect(calls(pi, "setWorkingMessage")).toEqual([[""], [""], [""]]);
  await pi.runtime.newSession();
  expect(calls(pi, "setWorkingMessage")).toHaveLength(4);
});

test("while a local server starts, the indicator says so, with the seconds since the turn began", async () => {
  const port = await freePort();
  // The server stays loading until the test has seen a frame of 1s or more.
  const home = makeHome();
  const loadedGate = join(home, "loaded");
  const pi = await startPi({
    home,
    llamafiles: [fakeModelEntry({ id: "slow", name: "Slow", port, flags: ["--loaded-when-file", loadedGate] })],
  });
  await pi.select("llamafiles/slow");
  // The supervisor loads on first use: a prompt typed in the same instant as the selection may
  // draw its first frame before the start is known (then "generating", and the start from the next frame).
  await waitFor(() => pi.footer().at(-1) === "Starting Slow...", "the footer to say Slow is starting");
  const answer = pi.prompt("hi");
  const starting = `⚙ waiting for Slow to start on port ${port}`;
  // A loaded machine may draw a frame late (past 1s): any later second counts.
  const counting = new RegExp(`^${starting.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} · [1-9]\\d*s$`);
  await waitFor(() => frames(pi).some(([frame]) => counting.test(frame!)), "a frame of 1s or more");
  writeFileSync(loadedGate, "");
  expect((await answer).error).toBeUndefined();
  const seen = frames(pi);
  expect(seen[0]).toEqual([`${starting} · 0s`]);
  for (const [frame] of seen) expect(frame).toMatch(/^⚙ [a-z].* · \d+s$/);
});

test("while the router loads the model, the indicator says so", async () => {
  testbed = await startAiServerTestbed();
  testbed.router.mode.holdLoads = true; // until the test has seen a frame of 1s or more
  const pi = await startPi({ aiServerEnv: testbed.env });
  await pi.select("ai-server/tiny-a");
  const answer = pi.prompt("hi");
  await waitFor(() => frames(pi).some(([frame]) => /^⚙ loading tiny-a on the router · [1-9]\d*s$/.test(frame!)), "a frame of 1s or more");
  testbed.router.mode.holdLoads = false;
  expect((await answer).error).toBeUndefined();
  expect(frames(pi)[0]![0]).toMatch(/^⚙ (checking|loading) tiny-a on the router · 0s$/);
});
