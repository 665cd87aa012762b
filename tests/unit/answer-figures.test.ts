// An answer's figures: the timings llama.cpp puts on its last chunk (recorded streams), found
// in the answer's tail however the bytes were split, and the live count while it streams.
import { createAssistantMessageEventStream } from "@earendil-works/pi-ai";
import { expect, test } from "vitest";
import { answerMeter } from "../../src/llama-cpp/answer-meter.ts";
import { observeAnswer } from "../../src/llama-cpp/answer-observer.ts";
import { figuresDetailText, figuresText, liveAnswerText, rateText } from "../../src/llama-cpp/messages.ts";
import { answerTail, figuresFromTimings } from "../../src/llama-cpp/timings.ts";
import { fixture } from "../helpers/fixtures.ts";

const recordedStream = fixture("A05-single-stream-raw-body.sse");
const encode = (text: string) => new TextEncoder().encode(text);

/** The recorded stream cut into pieces of `size` bytes, as TCP reads might deliver it. */
function pieces(text: string, size: number): Uint8Array[] {
  const bytes = encode(text);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

test("the recorded stream's timings (A05): 6 tokens at 5.5k tok/s, 32 prompt tokens, 5 of 37 from the cache", () => {
  const tail = answerTail();
  for (const piece of pieces(recordedStream, 4096)) tail.add(piece);
  const figures = tail.figures()!;
  expect(figures.generated).toEqual({ tokens: 6, perSecond: 5499.541704857929 });
  expect(figures.prompt).toEqual({ tokens: 32, perSecond: 17669.7956929873 });
  expect(figures.cacheShare).toBeCloseTo(5 / 37);
  expect(figuresText(figures)).toBe("5.5k tok/s · prompt 18k tok/s · cache 14%");
  expect(figuresDetailText(figures)).toBe("6 tokens at 5.5k tok/s, prompt 32 tokens at 18k tok/s, 14% of the prompt from the cache");
});

test.each([1, 7, 64, 333])("the same figures whatever the reads (%i-byte pieces)", (size) => {
  const tail = answerTail();
  for (const piece of pieces(recordedStream, size)) tail.add(piece);
  expect(tail.figures()?.generated?.tokens).toBe(6);
});

test("only the end of a long answer is kept, and the figures are still there", () => {
  const tail = answerTail();
  const filler = `data: ${JSON.stringify({ choices: [{ delta: { content: "x".repeat(900) } }] })}\n\n`;
  for (let i = 0; i < 2000; i++) tail.add(encode(filler));
  for (const piece of pieces(recordedStream, 100)) tail.add(piece);
  expect(tail.figures()?.cacheShare).toBeCloseTo(5 / 37);
});

test("a non-streamed answer's timings (A03) read the same; its one-token prompt (a cache hit) has no rate", () => {
  const line = fixture("A03-single-chat-completions.txt")
    .split("\n")
    .find((l) => l.includes('"timings"'))!;
  expect(figuresText(figuresFromTimings(JSON.parse(line).timings)!)).toBe("4.1k tok/s · prompt 1 token · cache 99%");
});

test("a one-token answer (A08, recorded: 1 token in 0.001 ms, '1000000 tok/s') shows the count, never that rate", () => {
  const tail = answerTail();
  tail.add(encode(fixture("A08-single-one-token-raw-body.sse")));
  const figures = tail.figures()!;
  expect(figures.generated).toEqual({ tokens: 1 });
  expect(figures.prompt).toEqual({ tokens: 23, perSecond: 30831.09919571046 });
  expect(figuresText(figures)).toBe("1 token · prompt 31k tok/s · cache 0%");
  expect(figuresDetailText(figures)).toBe("1 token, prompt 23 tokens at 31k tok/s, 0% of the prompt from the cache");
});

test("a rate needs two tokens and a duration above llama.cpp's 1 µs floor; counts read '1 token', '2 tokens'", () => {
  const of = (timings: Record<string, number>) => figuresFromTimings({ cache_n: 0, ...timings });
  expect(of({ predicted_n: 2, predicted_ms: 0.001, predicted_per_second: 2e6 })?.generated).toEqual({ tokens: 2 });
  expect(of({ predicted_n: 2, predicted_ms: 40, predicted_per_second: 50 })?.generated).toEqual({ tokens: 2, perSecond: 50 });
  // An old server that sends no durations: the count rule alone.
  expect(of({ predicted_n: 3, predicted_per_second: 50 })?.generated).toEqual({ tokens: 3, perSecond: 50 });
  expect(figuresDetailText(of({ predicted_n: 2, predicted_ms: 0.001, predicted_per_second: 2e6, prompt_n: 1, prompt_ms: 0.2 })!)).toBe(
    "2 tokens, prompt 1 token, 0% of the prompt from the cache",
  );
});

test("no timings, broken timings, a reset for a retried request: nothing is guessed", () => {
  const without = answerTail();
  without.add(encode('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'));
  expect(without.figures()).toBeUndefined();

  const broken = answerTail();
  broken.add(encode('data: {"choices":[],"timings":{"predicted_n":-3,"predicted_per_second":"fast","prompt_n":0,"cache_n":0}}\n\n'));
  expect(broken.figures()).toBeUndefined();

  const cut = answerTail();
  cut.add(encode('data: {"choices":[],"timings":{"predicted_n":5,"predicted_per_'));
  expect(cut.figures()).toBeUndefined();

  const retried = answerTail();
  for (const piece of pieces(recordedStream, 512)) retried.add(piece);
  retried.reset();
  expect(retried.figures()).toBeUndefined();

  // Everything served from the cache: no prompt rate to show, the cache share is 100 %.
  expect(figuresFromTimings({ prompt_n: 0, cache_n: 40, prompt_per_second: 0, predicted_n: 3, predicted_per_second: 12.5 })).toEqual({
    generated: { tokens: 3, perSecond: 12.5 },
    cacheShare: 1,
  });
  expect(figuresFromTimings(null)).toBeUndefined();
});

test("rates read the way the footer shows them", () => {
  expect([rateText(7.46), rateText(48.4), rateText(999.6), rateText(1940), rateText(25_300)]).toEqual([
    "7.5 tok/s",
    "48 tok/s",
    "1.0k tok/s",
    "1.9k tok/s",
    "25k tok/s",
  ]);
});

const assistant = {
  role: "assistant" as const,
  content: [],
  api: "openai-completions",
  provider: "llamafiles",
  model: "tiny-a",
  usage: {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 0,
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
  },
  stopReason: "stop" as const,
  timestamp: 0,
};

test("while an answer streams: tokens so far and their rate; at its end the figures of its tail, kept per model", () => {
  let clock = 1000;
  const meter = answerMeter(() => clock);
  const stream = createAssistantMessageEventStream();
  const tail = answerTail();
  const seen: string[] = [];
  meter.subscribe((key) => seen.push(key));
  observeAnswer(stream, { event: (event) => meter.see(event, "llamafiles/tiny-a", tail) });

  stream.push({ type: "start", partial: assistant });
  expect(meter.live()).toBeUndefined();
  for (let i = 0; i < 11; i++) {
    stream.push({ type: "text_delta", contentIndex: 0, delta: "x", partial: assistant });
    clock += 50;
  }
  clock -= 50;
  // 11 tokens, the last 10 over 500 ms.
  expect(meter.live()).toEqual({ tokens: 11, perSecond: 20 });
  expect(liveAnswerText(meter.live()!)).toBe("generating · 11 tok · 20 tok/s");

  for (const piece of pieces(recordedStream, 256)) tail.add(piece);
  stream.push({ type: "done", reason: "stop", message: assistant });
  expect(meter.live()).toBeUndefined();
  expect(meter.last("llamafiles/tiny-a")?.figures.generated?.tokens).toBe(6);
  expect(meter.last("ai-server/tiny-a")).toBeUndefined();
  expect(seen).toEqual(["llamafiles/tiny-a"]);
});

test("an answer that fails leaves the last figures as they were", () => {
  const meter = answerMeter();
  const stream = createAssistantMessageEventStream();
  const tail = answerTail();
  observeAnswer(stream, { event: (event) => meter.see(event, "llamafiles/tiny-a", tail) });
  stream.push({ type: "text_delta", contentIndex: 0, delta: "x", partial: assistant });
  for (const piece of pieces(recordedStream, 256)) tail.add(piece);
  stream.push({ type: "error", reason: "error", error: { ...assistant, stopReason: "error" } });
  expect(meter.live()).toBeUndefined();
  expect(meter.last("llamafiles/tiny-a")).toBeUndefined();
});

test("the timings line is found wherever the kept window wraps, and in one read larger than the window", () => {
  const filler = (n: number) => encode(`data: ${JSON.stringify({ choices: [{ delta: { content: "y".repeat(n) } }] })}\n\n`);
  // Shifting the stream by 0..63 bytes moves the point where the 16 KiB window wraps across the timings line.
  for (let shift = 0; shift < 64; shift++) {
    const tail = answerTail();
    for (let i = 0; i < 40; i++) tail.add(filler(500));
    tail.add(filler(shift));
    for (const piece of pieces(recordedStream, 97)) tail.add(piece);
    expect(tail.figures()?.generated?.tokens, `shift ${shift}`).toBe(6);
  }
  const one = answerTail();
  one.add(encode(`${new TextDecoder().decode(filler(40_000))}${recordedStream}`));
  expect(one.figures()?.prompt?.tokens).toBe(32);
});
