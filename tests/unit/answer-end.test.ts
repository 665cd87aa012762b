// A streamed answer's end is seen once (src/llama-cpp/answer-end.ts): at `data: [DONE]` even when
// the reader stops there, at the close, when the reader cancels, and on a broken stream.
import { expect, test } from "vitest";
import { onAnswerEnd } from "../../src/llama-cpp/answer-end.ts";

const encoder = new TextEncoder();
function streamed(chunks: string[], options: { endless?: boolean; fail?: boolean } = {}): Response {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]!));
      else if (options.fail) controller.error(new Error("connection reset"));
      else if (!options.endless) controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

async function readUntilDone(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("[DONE]")) text += decoder.decode((await reader.read()).value);
  return text;
}

test("at data: [DONE], though the stream is never read to its close; once", async () => {
  let ends = 0;
  const response = onAnswerEnd(streamed(['data: {"a":1}\n\n', "data: [DONE]\n\n"], { endless: true }), () => ends++);
  expect(await readUntilDone(response)).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
  expect(ends).toBe(1);
});

test("at the close, when cancelled, and on a broken stream", async () => {
  let ends = 0;
  await onAnswerEnd(streamed(["data: {}\n\n"]), () => ends++).text();
  expect(ends).toBe(1);
  await onAnswerEnd(streamed(["data: {}\n\n"], { endless: true }), () => ends++).body!.cancel();
  expect(ends).toBe(2);
  await expect(onAnswerEnd(streamed(["data: {}\n\n"], { fail: true }), () => ends++).text()).rejects.toThrow("connection reset");
  expect(ends).toBe(3);
  // No body: over at once.
  onAnswerEnd(new Response(null, { status: 204 }), () => ends++);
  expect(ends).toBe(4);
});
