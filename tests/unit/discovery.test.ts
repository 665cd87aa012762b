// Discovery on the router's recorded /models answers (tests/fixtures/llama-server/B01, B11): placeholder
// sections are left out, the context window comes from --ctx-size.
import { expect, test } from "vitest";
import { contextWindowOf, ctxSizeFromArgs, isPlaceholder } from "../../src/ai-server/discovery.ts";
import { discoveredModels } from "../../src/ai-server/provider.ts";
import type { RouterModel } from "../../src/ai-server/router-api.ts";
import { fixture } from "../helpers/fixtures.ts";

const b11 = JSON.parse(fixture("B11-router-models-json-examples.json")) as Record<string, { data: RouterModel[] }>;
const b01 = JSON.parse(/\{"data":\[.*\],"object":"list"\}/.exec(fixture("B01-router-preset-only-placeholder.txt"))![0]) as {
  data: RouterModel[];
};

test("B01: the phantom 'default' and the placeholder without a model path are not offered", () => {
  expect(b01.data.map((m) => [m.id, isPlaceholder(m)])).toEqual([
    ["default", true],
    ["tiny-a", false],
    ["tiny-b", true],
  ]);
  expect(discoveredModels(b01.data, []).map((m) => [m.id, m.contextWindow])).toEqual([["tiny-a", 2048]]);
});

test("B11: every recorded listing yields the ctx size of the worker's command line", () => {
  for (const [name, listing] of Object.entries(b11)) {
    for (const model of listing.data) {
      expect(ctxSizeFromArgs(model), name).toBe(model.id === "tiny-a" ? 2048 : 4096);
      expect(isPlaceholder(model), name).toBe(false);
    }
  }
});

test("context window: --ctx-size, else meta.n_ctx, else the fallback; a fallback entry names and limits the model", () => {
  expect(contextWindowOf({ id: "x", status: { value: "loaded", args: ["--ctx-size=1000"] } }, 9)).toBe(1000);
  expect(contextWindowOf({ id: "x", status: { value: "loaded", args: ["-c", "777"] } }, 9)).toBe(777);
  expect(contextWindowOf({ id: "x", meta: { n_ctx: 555 }, status: { value: "loaded", args: [] } }, 9)).toBe(555);
  expect(contextWindowOf({ id: "x", status: { value: "loaded", args: [] } }, 9)).toBe(9);
  const [model] = discoveredModels(
    [{ id: "q", status: { value: "unloaded", args: ["--model", "/m/q.gguf"] } }],
    [{ id: "q", name: "Qwen", contextWindow: 4242, maxTokens: 1000 }],
  );
  expect(model).toMatchObject({ id: "q", name: "Qwen", contextWindow: 4242, maxTokens: 1000 });
});

test("a router's ids that could not be shown or passed on safely are never offered", () => {
  const listed = (id: unknown) => ({ id, status: { value: "unloaded", args: ["--model", "/m.gguf"] } }) as unknown as RouterModel;
  const hostile = ["/etc/passwd", "a//b", "a/../b", "a/", "\u001b[2Jwipe", "a\u0000b", "x".repeat(201), "-rf", "", 42, null];
  const hf = "ggml-org/gemma-3-1b-it-GGUF:Q4_K_M";
  expect(discoveredModels([...hostile.map(listed), listed("tiny-a"), listed(hf)], []).map((model) => model.id)).toEqual(["tiny-a", hf]);
});
