// What a router model's worker says it serves (GET /props?model=…&autoload=false, read after the
// load) replaces what the preset or a fallback entry said, in pi's registry and its session.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";

const PRESET = `[tiny-a]
model = /srv/llama/models/tiny-a.gguf
ctx-size = 2048
parallel = 2

[tiny-v]
model = /srv/llama/models/tiny-v.gguf
mmproj = /srv/llama/models/mmproj-tiny-v.gguf
ctx-size = 65536

[tiny-n]
model = /srv/llama/models/tiny-n.gguf
ctx-size = 65536
fake-no-tools = true
`;

let testbed: AiServerTestbed;
afterEach(async () => {
  await cleanupAll();
  await testbed?.close();
});

test("a worker serving less than its preset says: the registry and the session use the worker's context, told once, after the load only", async () => {
  testbed = await startAiServerTestbed({ preset: PRESET });
  const pi = await startPi({ aiServerEnv: testbed.env });
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-a")?.contextWindow).toBe(2048);

  await pi.select("ai-server/tiny-a");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  await pi.prompt("again");
  const told =
    "tiny-a: the server's context is 1,024 tokens per request (the server divides its context among 2 parallel slots; one request gets 1,024); its preset's ctx-size says 2,048. pi uses 1,024.";
  expect(pi.notifications().filter((n) => n.message === told)).toEqual([{ type: "info", message: told }]);
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-a")).toMatchObject({ contextWindow: 1024, maxTokens: 1024 });
  expect(pi.runtime.session.model).toMatchObject({ provider: "ai-server", id: "tiny-a", contextWindow: 1024 });

  // Asked once the model was loaded, and never in a way that could load it.
  const paths = testbed.router.requests.map((r) => r.path);
  const propsAt = paths.indexOf("/props?model=tiny-a&autoload=false");
  expect(propsAt).toBeGreaterThan(paths.indexOf("/models/load"));
  expect(paths.filter((p) => p.startsWith("/props")).every((p) => p.endsWith("&autoload=false"))).toBe(true);

  // A refresh registers the router's list again: what the worker said still holds.
  await pi.command("/ai-server-refresh");
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-a")?.contextWindow).toBe(1024);

  const status = (await pi.command("/ai-server-status"))!;
  expect(status).toContain("\npi's model on the router: tiny-a, context 1,024 tokens per request (from the server, 2 parallel slots)\n");
  expect(status).toMatch(
    /\n {2}last answer: 8 tokens at 40 tok\/s, prompt [\d,]+ tokens at 1\.0k tok\/s, \d+% of the prompt from the cache$/,
  );
});

test("router models: a worker with a vision projector takes images; a template without tool calls is warned about", async () => {
  testbed = await startAiServerTestbed({ preset: PRESET });
  const pi = await startPi({ aiServerEnv: testbed.env });
  await pi.select("ai-server/tiny-v");
  await pi.prompt("hi");
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-v")?.input).toEqual(["text", "image"]);
  expect(pi.runtime.session.model?.input).toEqual(["text", "image"]);

  await pi.select("ai-server/tiny-n");
  await pi.prompt("hi");
  expect(
    pi.notifications().filter((n) => n.message.startsWith("tiny-n: the server's chat template cannot render tool calls")),
  ).toHaveLength(1);
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-n")?.input).toEqual(["text"]);
});

test("a fallback entry's context (the router was down at start) is replaced once the model loads, with a notice", async () => {
  testbed = await startAiServerTestbed({ preset: PRESET });
  testbed.router.mode.down = true;
  const pi = await startPi({
    aiServerEnv: testbed.env,
    setup: (agentDir) =>
      writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify({ models: [{ id: "tiny-a", contextWindow: 32768 }] })),
  });
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-a")?.contextWindow).toBe(32768);
  testbed.router.mode.down = false;
  await pi.select("ai-server/tiny-a");
  expect((await pi.prompt("hi")).error).toBeUndefined();
  expect(pi.notifications().map((n) => n.message)).toContain(
    "tiny-a: the server's context is 1,024 tokens per request (the server divides its context among 2 parallel slots; one request gets 1,024); its fallback entry says 32,768. pi uses 1,024.",
  );
  expect(pi.runtime.services.modelRuntime.getModel("ai-server", "tiny-a")?.contextWindow).toBe(1024);
});
