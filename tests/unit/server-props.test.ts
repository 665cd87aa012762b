// GET /props as the recorded llama-server and router answered it, and as a hostile server might.
import { expect, test } from "vitest";
import { parseServerProps, serverPropsFromText } from "../../src/llama-cpp/props.ts";
import { fixture } from "../helpers/fixtures.ts";

/** The JSON body that follows the request line `request` in a transcript. */
function answerTo(transcript: string, request: string): string {
  const from = transcript.indexOf(request);
  const body = transcript
    .slice(from)
    .split("\n")
    .find((line) => line.startsWith("{"));
  if (from < 0 || !body) throw new Error(`no answer to ${request}`);
  return body;
}

test("a single-model llama-server (A02): its context per slot, its slots, no vision, a template without tool calls", () => {
  const props = serverPropsFromText(answerTo(fixture("A02-single-alias-endpoints.txt"), "GET /props HTTP/1.1"));
  expect(props).toEqual({ contextSize: 2048, slots: 4, vision: false, toolCalls: false });
});

test("a router model's worker (B05): ctx-size 2048 over --parallel 2 gives 1024 tokens per request", () => {
  const transcript = fixture("B05-router-chat-autoload-on.txt");
  expect(transcript).toContain('"--ctx-size","2048"');
  const props = serverPropsFromText(answerTo(transcript, "GET /props?model=tiny-a HTTP/1.1"));
  expect(props).toEqual({ contextSize: 1024, slots: 2, vision: false, toolCalls: false });
});

test("the router's own /props (B03: n_ctx 0, no model) and a model not loaded (400) say nothing", () => {
  const transcript = fixture("B03-router-models-list-and-load.txt");
  expect(serverPropsFromText(answerTo(transcript, "GET /props HTTP/1.1"))).toEqual({});
  expect(serverPropsFromText(answerTo(transcript, "GET /props?model=tiny-a&autoload=false HTTP/1.1"))).toEqual({});
});

test.each([
  ["not JSON", "<html>hello</html>"],
  ["an array", "[1,2,3]"],
  ["null", "null"],
  ["a negative context", '{"default_generation_settings":{"n_ctx":-5}}'],
  ["a fractional context", '{"default_generation_settings":{"n_ctx":2048.5}}'],
  ["a context as text", '{"default_generation_settings":{"n_ctx":"2048"}}'],
  ["an absurd context", '{"default_generation_settings":{"n_ctx":1e15}}'],
  ["vision as text", '{"modalities":{"vision":"yes"}}'],
  ["tool calls as a number", '{"chat_template_caps":{"supports_tool_calls":1}}'],
  ["zero slots", '{"total_slots":0}'],
])("a hostile or broken answer (%s) says nothing it did not say properly", (_name, text) => {
  expect(serverPropsFromText(text)).toEqual({});
});

test("each field stands on its own: a good one is kept beside a broken one", () => {
  expect(parseServerProps({ default_generation_settings: { n_ctx: 8192 }, modalities: { vision: "no" }, total_slots: 1 })).toEqual({
    contextSize: 8192,
    slots: 1,
  });
});
