/**
 * Figures of the answers pi streams from llama.cpp: while an answer streams, the tokens so
 * far and their rate (for the working indicator); when it ends, the server's own timings
 * (for the footer and the status commands). Counted from the events pi-ai already emits
 * (llama.cpp streams one chunk per token; pi-ai turns each into one delta event) and from
 * the answer's tail (src/llama-cpp/timings.ts): no extra request, no second parse.
 */
import type { AssistantMessageEvent } from "@earendil-works/pi-ai";
import type { AnswerFigures, AnswerTail } from "./timings.ts";

export interface LiveAnswer {
  tokens: number;
  /** Tokens/s since the first token; undefined until there are two. */
  perSecond: number | undefined;
}

/** The figures of an answer a model gave, and when. */
export interface LastAnswer {
  figures: AnswerFigures;
  at: number;
}

export function answerMeter(now: () => number = performance.now.bind(performance)) {
  let live: { tokens: number; first: number; latest: number } | undefined;
  const lastByModel = new Map<string, LastAnswer>();
  const listeners = new Set<(modelKey: string) => void>();

  return {
    /**
     * Sees one event of an answer of `modelKey` (`provider/id`), as src/llama-cpp/answer-observer.ts
     * passes them: counts its deltas and, at its end, keeps the figures in `tail` (which the
     * request's fetch feeds).
     */
    see(event: AssistantMessageEvent, modelKey: string, tail: AnswerTail): void {
      if (event.type === "text_delta" || event.type === "thinking_delta" || event.type === "toolcall_delta") {
        const at = now();
        if (!live) live = { tokens: 0, first: at, latest: at };
        live.tokens++;
        live.latest = at;
      } else if (event.type === "start") live = undefined;
      else if (event.type === "done" || event.type === "error") {
        live = undefined;
        const figures = event.type === "done" ? tail.figures() : undefined;
        if (figures) {
          lastByModel.set(modelKey, { figures, at: Date.now() });
          for (const listener of [...listeners]) listener(modelKey);
        }
      }
    },
    /** The answer streaming now, if any. */
    live(): LiveAnswer | undefined {
      if (!live) return undefined;
      const seconds = (live.latest - live.first) / 1000;
      return { tokens: live.tokens, perSecond: live.tokens > 1 && seconds > 0 ? (live.tokens - 1) / seconds : undefined };
    },
    last(modelKey: string): LastAnswer | undefined {
      return lastByModel.get(modelKey);
    },
    /** Calls `listener` with the model's key whenever an answer left new figures. */
    subscribe(listener: (modelKey: string) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type AnswerMeter = ReturnType<typeof answerMeter>;
