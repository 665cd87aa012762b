// After an answer fails, the footer and /ai-server-status show what the router really reports
// (or that it cannot be reached); a connection that breaks mid-answer is told in words; and the
// extension never loads a router model the user did not pick in this session.
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { waitFor } from "../helpers/processes.ts";

let testbed: AiServerTestbed;
afterEach(async () => {
  await cleanupAll();
  await testbed.close();
});

const footer = (pi: PiHarness) => pi.ui.statuses("ai-server").at(-1);
const loads = () => testbed.router.requests.filter((r) => r.path === "/models/load" || r.path.startsWith("/v1/chat"));

test("the router gone mid-session: the footer follows it (unreachable while it is down), /ai-server-status says why, and it recovers", async () => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: testbed.env, settings: { retry: { enabled: false } } });
  await pi.select("ai-server/tiny-a");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(footer(pi)).toMatch(/^tiny-a · 40 tok\/s · prompt 1\.0k tok\/s · cache \d+%$/);

  // The proxy killed mid-answer, and the router behind it gone (Caddy answers 502).
  testbed.router.mode.cutNextStream = "connection-dropped";
  expect((await pi.prompt("again")).error).toMatch(/^ai-server: the connection to localhost:\d+ broke in the middle of the answer/);
  testbed.router.mode.down = true;
  expect((await pi.prompt("still there?")).error).toMatch(/does not answer \(HTTP 502\)/);
  await waitFor(() => footer(pi) === "tiny-a: router unreachable", "the footer to say the router is unreachable");
  expect(await pi.command("/ai-server-status")).toMatch(/does not answer \(HTTP 502\)/);

  // The router is back: the next prompt finds tiny-a again.
  testbed.router.mode.down = false;
  expect((await pi.prompt("back?")).error).toBeUndefined();
  expect(footer(pi)).toMatch(/^tiny-a · 40 tok\/s · prompt 1\.0k tok\/s · cache \d+%$/);
});

test("a connection dropped mid-answer is told in words, not as a bare 'terminated'", async () => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: testbed.env, settings: { retry: { enabled: false } } });
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hi");
  testbed.router.mode.cutNextStream = "connection-dropped";
  const { error } = await pi.prompt("again");
  expect(error).toMatch(
    new RegExp(
      `^ai-server: the connection to localhost:${testbed.router.port} broke in the middle of the answer \\(.*\\): the proxy or the router went away\\. Send the prompt again; see /ai-server-status\\.$`,
    ),
  );
});

test("after another client evicted the model mid-answer, the footer no longer claims it is loaded", async () => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: testbed.env, settings: { retry: { enabled: false } } });
  await pi.select("ai-server/tiny-a");
  await pi.prompt("hi");
  // Another client of the shared router loads tiny-b, evicting tiny-a: the answer in flight is cut.
  testbed.router.mode.cutNextStream = "evicted";
  expect((await pi.prompt("again")).error).toMatch(/^ai-server: the router cut the answer off/);
  await waitFor(() => footer(pi) === undefined, "the footer to drop 'tiny-a loaded'");
  // Nothing was loaded behind the user's back: tiny-b stays loaded until the user's next prompt.
  expect(testbed.router.models().find((m) => m.id === "tiny-b")!.value).toBe("loaded");
});

test("a model restored at start-up is loaded by its first prompt, not at start", async () => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: testbed.env, preselect: "ai-server/tiny-b" });
  expect(pi.runtime.session.model?.id).toBe("tiny-b");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(loads()).toEqual([]);
  expect(testbed.router.models().every((m) => m.value === "unloaded")).toBe(true);
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(testbed.router.models().find((m) => m.id === "tiny-b")!.value).toBe("loaded");
});

test("with no default model, pi's start loads nothing on the shared router", async () => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: testbed.env });
  expect(pi.runtime.session.model?.provider).toBe("ai-server");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(loads()).toEqual([]);
});
