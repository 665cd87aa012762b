// ai-server chat: pi-ai's streaming over mTLS with no bearer token;
// selecting a model loads it through the router machine (footer progress) and a prompt
// waits for it; usage.cacheRead from cached_tokens without double counting; a stream the
// router cuts ends as an error, never as a silently truncated answer.
import { afterEach, beforeEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, type PiHarness, startPi } from "../helpers/pi-harness.ts";
import { waitFor } from "../helpers/processes.ts";

let testbed: AiServerTestbed;
let pi: PiHarness;
beforeEach(async () => {
  testbed = await startAiServerTestbed({ loadDelayMs: 300 });
  pi = await startPi({ aiServerEnv: testbed.env });
});
afterEach(async () => {
  await cleanupAll();
  await testbed.close();
});

const chats = () => testbed.router.requests.filter((r) => r.path === "/v1/chat/completions");

test("selecting a model loads it on the router, the prompt waits, and the answer streams over mTLS without a bearer token", async () => {
  await pi.select("ai-server/tiny-a");
  const answer = await pi.prompt("hello");

  expect(answer).toEqual({ text: "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7", error: undefined });
  const paths = testbed.router.requests.map((r) => `${r.method} ${r.path}`);
  expect(paths.slice(0, 3)).toEqual(["GET /models", "GET /models", "POST /models/load"]);
  expect(paths.at(-1)).toBe("POST /v1/chat/completions");
  expect(chats()[0]).toMatchObject({ authorization: undefined, clientCn: "pi-client" });
  // Once it answered: the router's own timings for that answer (the stand-in's fixed 40 and 1000 tok/s).
  expect(pi.ui.statuses("ai-server")).toEqual([
    "Checking tiny-a…",
    "Loading tiny-a… 0s",
    "tiny-a loaded",
    "tiny-a · 40 tok/s · prompt 1.0k tok/s · cache 0%",
  ]);
  expect(pi.notifications()).toContainEqual({ type: "info", message: "ai-server: tiny-a is loaded" });
});

test("a repeated prompt reports cacheRead from cached_tokens, and totalTokens counts each token once", async () => {
  await pi.select("ai-server/tiny-b");
  await pi.prompt("the same question");
  const first = pi.runtime.session.messages.at(-1) as { usage: { cacheRead: number } };
  expect(first.usage.cacheRead).toBe(0);
  // The second request repeats the first one as its prefix: the router reports it cached.
  await pi.prompt("the same question");
  const last = pi.runtime.session.messages.at(-1) as {
    usage: { input: number; output: number; cacheRead: number; cacheWrite: number; totalTokens: number };
  };
  expect(last.usage.cacheRead).toBeGreaterThan(0);
  expect(last.usage.output).toBe(8);
  expect(last.usage.totalTokens).toBe(last.usage.input + last.usage.output + last.usage.cacheRead + last.usage.cacheWrite);
  const sent = JSON.parse(chats().at(-1)!.body) as { messages: unknown };
  const promptTokens = Math.ceil(JSON.stringify(sent.messages).length / 4);
  expect(last.usage.input + last.usage.cacheRead).toBe(promptTokens);
});

for (const [cut, message] of [
  [
    "proxy-error",
    `ai-server: the router cut the answer off ("proxy error: Failed to read connection"): the model was unloaded or evicted by another request, or its worker died. Send the prompt again; see /ai-server-status.`,
  ],
  ["data-error", "ai-server: the model failed in the middle of the answer: the worker crashed while generating"],
  [
    "no-done",
    "ai-server: the router closed the answer before its end (no [DONE]); the text so far is incomplete. Send the prompt again; see /ai-server-status.",
  ],
] as const) {
  test(`a stream cut by the router (${cut}) ends as an error with a clear message`, async () => {
    await pi.select("ai-server/tiny-a");
    await pi.prompt("warm up");
    testbed.router.mode.cutNextStream = cut;
    const result = await pi.prompt("long answer please");
    expect(result.error).toBe(message);
    expect(pi.runtime.session.messages.at(-1)).toMatchObject({ role: "assistant", stopReason: "error" });
  });
}

test("loading another model evicts the first: the machine follows the router, not a guess", async () => {
  await pi.select("ai-server/tiny-a");
  await pi.prompt("a");
  await pi.select("ai-server/tiny-b");
  await pi.prompt("b");
  const byId = Object.fromEntries(testbed.router.models().map((m) => [m.id, m.value]));
  expect(byId).toMatchObject({ "tiny-a": "unloaded", "tiny-b": "loaded" });
  await waitFor(() => pi.ui.statuses("ai-server").at(-1)?.startsWith("tiny-b · 40 tok/s"), "the footer to follow");
});

test("AI_SERVER_TIMEOUT_MS bounds a whole request, and the message names it", async () => {
  await cleanupAll();
  pi = await startPi({ aiServerEnv: { ...testbed.env, AI_SERVER_TIMEOUT_MS: "400" }, settings: { retry: { enabled: false } } });
  await pi.select("ai-server/tiny-a");
  await pi.prompt("warm up");
  testbed.router.mode.tokenDelayMs = 150;
  expect((await pi.prompt("slow answer")).error).toBe("ai-server: no complete answer within AI_SERVER_TIMEOUT_MS=400 ms.");
});
