/**
 * The `timings` object llama.cpp puts on the last chunk of every answer (prompt_n, cache_n,
 * prompt_per_second, predicted_n, predicted_per_second: docs/llama-server-behaviour.md), as
 * figures for the footer. It is read from the bytes the provider streams anyway: the last
 * 16 KiB are kept (copied into a ring) and only the one line that carries `"timings"` is
 * parsed, once, when the answer ends. Nothing is guessed: a figure the
 * server did not send is left out.
 */

/** A count of tokens, and their rate (tokens/s) when it can be measured. */
export interface TokenCount {
  tokens: number;
  perSecond?: number;
}

/** What one answer cost, as the server measured it. */
export interface AnswerFigures {
  /** Tokens generated. */
  generated?: TokenCount;
  /** Prompt tokens the server had to process (not from its cache). */
  prompt?: TokenCount;
  /** Share of the prompt served from the server's cache, 0..1. */
  cacheShare?: number;
}

const count = (value: unknown) => (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined);
const positive = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined);

/**
 * llama.cpp floors a duration at 1 µs (0.001 ms): below 10 µs it is that floor, not a measurement; one token
 * "in" 0.001 ms reads 1,000,000 tok/s (docs/llama-server-behaviour.md, "Answer timings").
 */
const MEASURABLE_MS = 0.01;

/** `tokens`, with their rate only when it means something: two tokens or more, over a measurable time. */
function tokenCount(tokens: number, perSecond: unknown, ms: unknown): TokenCount {
  const rate = positive(perSecond);
  const duration = typeof ms === "number" && Number.isFinite(ms) ? ms : undefined;
  const measured = rate !== undefined && tokens >= 2 && (duration === undefined || duration >= MEASURABLE_MS);
  return measured ? { tokens, perSecond: rate } : { tokens };
}

export function figuresFromTimings(timings: unknown): AnswerFigures | undefined {
  if (timings === null || typeof timings !== "object") return undefined;
  const t = timings as Record<string, unknown>;
  const figures: AnswerFigures = {};
  const predicted = count(t.predicted_n);
  if (predicted !== undefined && predicted > 0) figures.generated = tokenCount(predicted, t.predicted_per_second, t.predicted_ms);
  const prompt = count(t.prompt_n);
  if (prompt !== undefined && prompt > 0) figures.prompt = tokenCount(prompt, t.prompt_per_second, t.prompt_ms);
  const cached = count(t.cache_n);
  if (cached !== undefined && prompt !== undefined && cached + prompt > 0) figures.cacheShare = cached / (cached + prompt);
  return Object.keys(figures).length > 0 ? figures : undefined;
}

/** The timings line is a few hundred bytes; this much of the end of an answer holds it. */
const KEPT_BYTES = 16 * 1024;

/** The end of one answer's byte stream, and the figures in it. */
export interface AnswerTail {
  add(chunk: Uint8Array): void;
  /** A retried request starts a new answer. */
  reset(): void;
  figures(): AnswerFigures | undefined;
}

export function answerTail(): AnswerTail {
  // A ring of the last KEPT_BYTES bytes, copied in: holding the chunks themselves would keep
  // the network's (often larger, pooled) buffers alive, which costs the garbage collector
  // more per token than the copy does.
  const ring = new Uint8Array(KEPT_BYTES);
  let written = 0;
  return {
    add(chunk) {
      const bytes = chunk.byteLength > KEPT_BYTES ? chunk.subarray(chunk.byteLength - KEPT_BYTES) : chunk;
      const at = written % KEPT_BYTES;
      const first = Math.min(bytes.byteLength, KEPT_BYTES - at);
      ring.set(bytes.subarray(0, first), at);
      if (first < bytes.byteLength) ring.set(bytes.subarray(first), 0);
      written += bytes.byteLength;
    },
    reset() {
      written = 0;
    },
    figures() {
      const at = written % KEPT_BYTES;
      const kept = written <= KEPT_BYTES ? ring.subarray(0, written) : Buffer.concat([ring.subarray(at), ring.subarray(0, at)]);
      const text = new TextDecoder().decode(kept);
      const timingsAt = text.lastIndexOf('"timings"');
      if (timingsAt < 0) return undefined;
      const start = text.lastIndexOf("data:", timingsAt);
      const end = text.indexOf("\n", timingsAt);
      if (start < 0) return undefined;
      try {
        const event = JSON.parse(text.slice(start + 5, end < 0 ? undefined : end)) as { timings?: unknown };
        return figuresFromTimings(event.timings);
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * A fetch whose event-stream answers pass their bytes (unchanged) through `tail` on the way
 * to pi-ai. For the local provider; the ai-server fetch feeds its tail from its own guard.
 */
export function fetchKeepingTail(tail: AnswerTail, base: typeof globalThis.fetch = globalThis.fetch): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    tail.reset();
    const response = await base(input, init);
    if (!response.body || !(response.headers.get("content-type") ?? "").includes("text/event-stream")) return response;
    const kept = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          tail.add(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(kept, { status: response.status, statusText: response.statusText, headers: response.headers });
  }) as typeof globalThis.fetch;
}
