// What a local server says it serves (GET /props) replaces what models.json declared, in pi's
// registry, in the session's model and in every request; differences are told once per start.

import { afterEach, expect, test } from "vitest";
import { fakeModelEntry, requestsSeen } from "../helpers/fake-llamafile.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort } from "../helpers/processes.ts";

afterEach(cleanupAll);

/** The max_tokens of every request the fake server logged. */
const maxTokensSent = (home: string, id: string) => requestsSeen(home, id).map((line) => Number(/max_tokens=(\d+)/.exec(line)?.[1]));

test("the server's context replaces the declared one in the registry, the session's model and requests; told once per server start", async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const pi = await startPi({
    llamafiles: [
      { ...fakeModelEntry({ id: "model-a", name: "A", port: portA, flags: ["--ctx", "12288"] }), contextWindow: 32768, maxTokens: 16384 },
      fakeModelEntry({ id: "model-b", name: "B", port: portB }),
    ],
  });
  const told = "A: the server's context is 12,288 tokens per request; models.json says 32,768. pi uses 12,288.";
  const timesTold = () => pi.notifications().filter((n) => n.message === told).length;

  await pi.select("llamafiles/model-a");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(pi.notifications()).toContainEqual({ message: told, type: "info" });
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", "model-a")).toMatchObject({ contextWindow: 12288, maxTokens: 12288 });
  expect(pi.runtime.session.model).toMatchObject({ provider: "llamafiles", id: "model-a", contextWindow: 12288 });
  // pi-ai keeps 4,096 tokens free and clamps the answer to what is left of 12,288, not of 32,768 (which would send 16384).
  const [first] = maxTokensSent(pi.home, "model-a");
  expect(first).toBeLessThan(12288 - 4096);

  await pi.prompt("again");
  expect(timesTold()).toBe(1);

  // A new start of A's server is told again.
  await pi.select("llamafiles/model-b");
  await pi.prompt("b");
  await pi.select("llamafiles/model-a");
  await pi.prompt("a again");
  expect(timesTold()).toBe(2);
});

test("a server without /props (an old llamafile): what models.json declares stays, nothing is told", async () => {
  const port = await freePort();
  const pi = await startPi({
    llamafiles: [{ ...fakeModelEntry({ id: "old", name: "Old", port, flags: ["--no-props"] }), contextWindow: 16384 }],
  });
  await pi.select("llamafiles/old");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", "old")?.contextWindow).toBe(16384);
  expect(pi.notifications().map((n) => n.message)).toEqual(["Old is ready"]);
  expect(await pi.command("/llamafiles")).toMatch(/\n {2}context 16,384 tokens per request \(declared\)\n/);
});

test("a vision model takes images in pi; a declared input wins, with a notice", async () => {
  const [portV, portT] = [await freePort(), await freePort()];
  const pi = await startPi({
    llamafiles: [
      fakeModelEntry({ id: "vision", name: "V", port: portV, flags: ["--vision"] }),
      { ...fakeModelEntry({ id: "text-only", name: "T", port: portT, flags: ["--vision"] }), input: ["text"] },
    ],
  });
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", "vision")?.input).toEqual(["text"]);
  await pi.select("llamafiles/vision");
  await pi.prompt("hi");
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", "vision")?.input).toEqual(["text", "image"]);
  expect(pi.runtime.session.model?.input).toEqual(["text", "image"]);

  await pi.select("llamafiles/text-only");
  await pi.prompt("hi");
  expect(pi.runtime.services.modelRuntime.getModel("llamafiles", "text-only")?.input).toEqual(["text"]);
  expect(pi.notifications()).toContainEqual({
    type: "warning",
    message:
      'T: the server accepts images, but models.json declares "input": ["text"]; pi keeps what you declared (add "image" to use them).',
  });
});

test("a chat template that cannot render tool calls is warned about once, at select, with the usual fix", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "plain", name: "Plain", port, flags: ["--no-tool-template"] })] });
  await pi.select("llamafiles/plain");
  await pi.prompt("one");
  await pi.prompt("two");
  const warnings = pi.notifications().filter((n) => n.message.includes("cannot render tool calls"));
  expect(warnings).toEqual([
    {
      type: "warning",
      message:
        "Plain: the server's chat template cannot render tool calls, so pi's tools (read, edit, bash, …) will not work with it. Start llama-server with --jinja, or give it a chat template that supports tools (--chat-template-file).",
    },
  ]);
});

test("a context too small for pi's real system prompt and tools is warned about with the figures, instead of one-token answers", async () => {
  const port = await freePort();
  const pi = await startPi({
    withTools: true,
    llamafiles: [fakeModelEntry({ id: "tiny", name: "Tiny", port, flags: ["--ctx", "4096", "--slots", "4"] })],
  });
  await pi.select("llamafiles/tiny");
  await pi.prompt("hi");
  // The figure pi-ai would count: the effective system prompt and the active tools' definitions, 4 characters a token.
  const session = pi.runtime.session;
  const active = new Set(session.getActiveToolNames());
  const tools = session
    .getAllTools()
    .filter((tool) => active.has(tool.name))
    .map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.parameters }));
  const promptTokens = Math.ceil((session.systemPrompt.length + JSON.stringify(tools).length) / 4);
  expect(promptTokens).toBeGreaterThan(1000);
  expect(pi.notifications()).toContainEqual({
    type: "warning",
    message: `Tiny: a context of 4,096 tokens is too small for pi: its system prompt and tools take about ${promptTokens.toLocaleString("en-US")} tokens and pi keeps 4,096 free, which leaves 1 token for an answer. Give the model a larger context: add "-c", "16384" to its "args" in models.json.`,
  });
  // …which is what pi-ai then asks the server for.
  expect(maxTokensSent(pi.home, "tiny")).toEqual([1]);
});

test("an answer without timings shows no figures: nothing is guessed", async () => {
  const port = await freePort();
  const pi = await startPi({ llamafiles: [fakeModelEntry({ id: "quiet", name: "Q", port, flags: ["--no-timings"] })] });
  await pi.select("llamafiles/quiet");
  await pi.prompt("hi");
  expect(pi.footer()).toEqual(["Starting Q...", "Q running"]);
  expect(await pi.command("/llamafiles")).not.toMatch(/last answer/);
});

test("while an answer streams, the working indicator shows the tokens so far and their rate", async () => {
  const port = await freePort();
  const reply = "word ".repeat(40); // 50 chunks of 4 characters, 25 ms apart: about 1.3 s
  const pi = await startPi({
    llamafiles: [fakeModelEntry({ id: "slow", name: "S", port, flags: ["--token-delay-ms", "25", "--reply", reply] })],
  });
  await pi.select("llamafiles/slow");
  await pi.prompt("talk");
  const frames = pi.ui.calls
    .filter((call) => call.method === "setWorkingIndicator")
    .map((call) => (call.args[0] as { frames: string[] }).frames[0]!);
  // Before the first token the phrase is plain; from then on it counts, with the rate from the second token on.
  for (const frame of frames)
    expect(frame).toMatch(/^⚙ (waiting for S to start on port \d+|generating|generating · \d+ tok( · \d+ tok\/s)?) · \ds$/);
  expect(frames.filter((frame) => / tok · \d+ tok\/s · /.test(frame)).length).toBeGreaterThan(0);
});
