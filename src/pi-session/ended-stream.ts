/**
 * Streams that end before any request is sent, the way pi-ai's own implementations end: a
 * prompt cancelled (Esc) while it waited for a model ends as "aborted" (not as an error pi
 * would retry); a model that cannot be reached at all ends as an error with the reason.
 */
import type { Api, AssistantMessageEventStream, Model } from "@earendil-works/pi-ai";
import { createAssistantMessageEventStream } from "@earendil-works/pi-ai";

function ended(model: Model<Api>, reason: "aborted" | "error", errorMessage: string): AssistantMessageEventStream {
  const stream = createAssistantMessageEventStream();
  const message = {
    role: "assistant" as const,
    content: [],
    api: model.api,
    provider: model.provider,
    model: model.id,
    usage: {
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
      totalTokens: 0,
      cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
    },
    stopReason: reason,
    errorMessage,
    timestamp: Date.now(),
  };
  stream.push({ type: "error", reason, error: message });
  stream.end(message);
  return stream;
}

export const abortedStream = (model: Model<Api>) => ended(model, "aborted", "Request was aborted");
export const failedStream = (model: Model<Api>, reason: string) => ended(model, "error", reason);
