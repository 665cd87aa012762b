// ai-server discovery: GET /models over mTLS at load; placeholders left out;
// ctx from --ctx-size; fallback list and a warning when the router cannot be reached, with
// pi's start bounded; nothing registered and nothing contacted without AI_SERVER_URL.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { type AiServerTestbed, startAiServerTestbed } from "../helpers/ai-server-setup.ts";
import { cleanupAll, startPi } from "../helpers/pi-harness.ts";
import { freePort } from "../helpers/processes.ts";

let testbed: AiServerTestbed | undefined;
afterEach(async () => {
  await cleanupAll();
  await testbed?.close();
  testbed = undefined;
});

test("registers the router's models (no placeholders) with their preset ctx-size, over mTLS", async () => {
  testbed = await startAiServerTestbed();
  const pi = await startPi({ aiServerEnv: testbed.env });
  const models = pi.runtime.services.modelRuntime.getModels("ai-server");
  expect(models.map((m) => [m.id, m.contextWindow, m.baseUrl])).toEqual([
    ["tiny-a", 2048, `${testbed.router.url}/v1`],
    ["tiny-b", 4096, `${testbed.router.url}/v1`],
  ]);
  expect((await pi.runtime.services.modelRuntime.getAvailable()).filter((m) => m.provider === "ai-server")).toHaveLength(2);
  expect(testbed.router.requests.map((r) => `${r.method} ${r.path} cn=${r.clientCn}`)).toEqual(["GET /models cn=pi-client"]);
  expect(pi.notifications().filter((n) => n.message.startsWith("ai-server"))).toEqual([]);
});

test("an unreachable router: fallback models from ai-server.json, a warning, and pi starts within ~3 s", async () => {
  testbed = await startAiServerTestbed();
  const closedPort = await freePort();
  const started = Date.now();
  const pi = await startPi({
    aiServerEnv: { ...testbed.env, AI_SERVER_URL: `https://localhost:${closedPort}` },
    setup: (agentDir) =>
      writeFileSync(join(agentDir, "ai-server.json"), JSON.stringify({ models: [{ id: "qwen-fallback", contextWindow: 32768 }] })),
  });
  expect(Date.now() - started).toBeLessThan(6_000);
  expect(pi.runtime.services.modelRuntime.getModels("ai-server").map((m) => [m.id, m.contextWindow])).toEqual([["qwen-fallback", 32768]]);
  expect(pi.notifications().find((n) => n.message.startsWith("ai-server"))).toEqual({
    type: "warning",
    message: `ai-server: nothing answers at https://localhost:${closedPort} (connection refused). Is the proxy running, and is the port right?\nai-server: using the 1 fallback model(s) from ~/.pi/agent/ai-server.json; run /ai-server-refresh once the router is reachable.`,
  });
});

test("without AI_SERVER_URL nothing is registered and the router is never contacted", async () => {
  testbed = await startAiServerTestbed();
  const { AI_SERVER_URL: _url, ...rest } = testbed.env;
  const pi = await startPi({ aiServerEnv: rest });
  expect(pi.runtime.services.modelRuntime.getModels("ai-server")).toEqual([]);
  expect(pi.runtime.session.extensionRunner.getCommand("ai-server-status")).toBeUndefined();
  expect(testbed.router.requests).toEqual([]);
});

test("a model of the router's Hugging Face cache (org/repo:quant, an id with a '/') is offered, answers, and the commands take it", async () => {
  const hf = "ggml-org/gemma-3-1b-it-GGUF:Q4_K_M";
  testbed = await startAiServerTestbed({ preset: `[*]\nthreads = 1\n\n[${hf}]\nmodel = /srv/llama/cache/gemma.gguf\nctx-size = 4096\n` });
  const pi = await startPi({ aiServerEnv: testbed.env });
  expect(pi.runtime.services.modelRuntime.getModels("ai-server").map((m) => m.id)).toEqual([hf]);
  await pi.select(`ai-server/${hf}`);
  expect(await pi.prompt("hello")).toEqual({ text: "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7", error: undefined });
  expect(await pi.command(`/ai-server-unload ${hf}`)).toBe(`ai-server: ${hf} is unloaded.`);
  expect(testbed.router.requests.filter((r) => r.path === "/models/unload").map((r) => JSON.parse(r.body ?? "{}").model)).toEqual([hf]);
});
