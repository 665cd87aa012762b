// What pi believes about a model once its server said what it serves, and what it tells.
import { expect, test } from "vitest";
import { type ContextFix, findingText, smallContextText } from "../../src/llama-cpp/messages.ts";
import { PI_SAFETY_TOKENS, reconcile, tooSmallContext, USEFUL_ANSWER_TOKENS } from "../../src/llama-cpp/model-facts.ts";

const defaults = { contextWindow: 131072, maxTokens: 8192 };
const fix: ContextFix = { setContext: (tokens, id) => `-c ${tokens} for ${id}`, declaredIn: "models.json" };

test("the server's context wins over the declared one, with one finding naming both", () => {
  const result = reconcile({ contextWindow: { value: 32768, source: "models.json" } }, defaults, { contextSize: 4096, slots: 1 });
  expect(result.model).toEqual({ contextWindow: 4096, input: ["text"], maxTokens: 4096 });
  expect(result.override).toEqual({ contextWindow: 4096, maxTokens: 4096 });
  expect(result.findings).toEqual([{ kind: "context-differs", declared: 32768, source: "models.json", server: 4096 }]);
  expect(findingText("Qwen", result.findings[0]!, fix, { contextSize: 4096, slots: 1 })).toBe(
    "Qwen: the server's context is 4,096 tokens per request; models.json says 32,768. pi uses 4,096.",
  );
});

test("parallel slots are named: the preset's ctx-size is divided among them", () => {
  const props = { contextSize: 1024, slots: 2 };
  const { findings } = reconcile({ contextWindow: { value: 2048, source: "preset" } }, defaults, props);
  expect(findingText("tiny-a", findings[0]!, fix, props)).toBe(
    "tiny-a: the server's context is 1,024 tokens per request (the server divides its context among 2 parallel slots; one request gets 1,024); its preset's ctx-size says 2,048. pi uses 1,024.",
  );
});

test("nothing declared: the server's values, silently; the same value declared: no finding", () => {
  expect(reconcile({}, defaults, { contextSize: 65536 })).toEqual({
    model: { contextWindow: 65536, input: ["text"], maxTokens: 8192 },
    override: { contextWindow: 65536, maxTokens: 8192 },
    findings: [],
  });
  expect(reconcile({ contextWindow: { value: 65536, source: "models.json" } }, defaults, { contextSize: 65536 }).findings).toEqual([]);
});

test("a server that says nothing changes nothing: the declared value, else the default", () => {
  expect(reconcile({ contextWindow: { value: 4096, source: "fallback" } }, defaults, {})).toEqual({
    model: { contextWindow: 4096, input: ["text"], maxTokens: 4096 },
    override: {},
    findings: [],
  });
  expect(reconcile({}, defaults, {}).model.contextWindow).toBe(131072);
});

test("vision: the server's answer unless the user declared the input, which wins with a finding", () => {
  expect(reconcile({}, defaults, { vision: true }).override).toEqual({ input: ["text", "image"] });
  const declaredText = reconcile({ input: ["text"] }, defaults, { vision: true });
  expect(declaredText.model.input).toEqual(["text"]);
  expect(declaredText.override).toEqual({});
  expect(findingText("Gemma", declaredText.findings[0]!, fix, { vision: true })).toBe(
    'Gemma: the server accepts images, but models.json declares "input": ["text"]; pi keeps what you declared (add "image" to use them).',
  );
  const declaredImage = reconcile({ input: ["text", "image"] }, defaults, { vision: false });
  expect(findingText("Qwen", declaredImage.findings[0]!, fix, { vision: false })).toMatch(
    /declares image input, but the server has no vision support \(no --mmproj\)/,
  );
});

test("a chat template without tool calls: one finding that says what usually fixes it", () => {
  const { findings } = reconcile({}, defaults, { toolCalls: false });
  expect(findings).toEqual([{ kind: "no-tool-calls" }]);
  expect(findingText("tiny-a", findings[0]!, fix, {})).toMatch(/pi's tools .* will not work with it\. Start llama-server with --jinja/);
  expect(reconcile({}, defaults, { toolCalls: true }).findings).toEqual([]);
});

test("a context that leaves an answer too little room after pi's own prompt is told with the figures", () => {
  const promptChars = 4 * 3000; // 3,000 tokens of system prompt and tools
  expect(tooSmallContext(4096, promptChars)).toEqual({ contextWindow: 4096, promptTokens: 3000, answerTokens: 1, suggested: 16384 });
  expect(tooSmallContext(3000 + PI_SAFETY_TOKENS + USEFUL_ANSWER_TOKENS - 1, promptChars)?.answerTokens).toBe(USEFUL_ANSWER_TOKENS - 1);
  expect(tooSmallContext(3000 + PI_SAFETY_TOKENS + USEFUL_ANSWER_TOKENS, promptChars)).toBeUndefined();
  expect(tooSmallContext(8192, 4 * 30000)?.suggested).toBe(65536);
  expect(smallContextText("Tiny", "tiny-a", tooSmallContext(4096, promptChars)!, fix)).toBe(
    "Tiny: a context of 4,096 tokens is too small for pi: its system prompt and tools take about 3,000 tokens and pi keeps 4,096 free, which leaves 1 token for an answer. Give the model a larger context: -c 16384 for tiny-a.",
  );
});
