/**
 * One request of the `llamafiles` provider, loaded with the first one: it waits until the
 * model's server is ready (docs/architecture.md, "Why the provider waits"), then streams with
 * pi-ai's own implementation, sending what the server said it serves and keeping the answer's
 * tail for its timings (src/llama-cpp/answer-meter.ts).
 */
import type { Api, AssistantMessageEventStream, Model } from "@earendil-works/pi-ai";
import type { LaunchSpec } from "../../machines/local-server.machine.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { ServedOverride } from "../llama-cpp/model-facts.ts";
import { answerTail, fetchKeepingTail } from "../llama-cpp/timings.ts";
import { abortedStream } from "../pi-session/ended-stream.ts";
import { LLAMAFILES_PROVIDER, type LlamafilesConfig } from "./config.ts";
import { notServingText } from "./messages.ts";
import { toPiModel } from "./pi-model.ts";

export interface LlamafilesProviderDeps {
  /** Resolves when the model's server is ready (the local supervisor's `ensureReady`). */
  ensureReady(model: LaunchSpec, signal: AbortSignal | undefined): Promise<void>;
  /** What the model's server said it serves, once it said so. */
  served(id: string): ServedOverride | undefined;
  meter: AnswerMeter;
  /** An answer of the model starts (its server is not stopped to make room meanwhile); call the result when it ends. */
  answering(modelId: string): () => void;
}

/** Starts pi-ai's streaming of a request with this model and fetch. */
export type Start = (
  requestModel: Model<Api>,
  apis: typeof import("@earendil-works/pi-ai/compat"),
  fetch: typeof globalThis.fetch,
) => AssistantMessageEventStream;

export async function requestWhenReady(
  config: LlamafilesConfig,
  deps: LlamafilesProviderDeps,
  model: Model<Api>,
  options: { signal?: AbortSignal; fetch?: typeof globalThis.fetch } | undefined,
  start: Start,
): Promise<AssistantMessageEventStream> {
  const signal = options?.signal;
  const ours = config.models.find((candidate) => candidate.id === model.id);
  if (!ours) throw new Error(notServingText(model, { kind: "not-configured", modelId: model.id }));
  try {
    await deps.ensureReady(ours, signal);
  } catch (error) {
    // Esc while waiting: end as an aborted request (not as an error pi would retry).
    if (signal?.aborted) return abortedStream(model);
    throw error;
  }
  // pi's listed copy may carry models.json-layer defaults (native case), or be older than
  // what the server said it serves: send ours.
  const canonical = toPiModel(config, ours, deps.served(ours.id));
  const requestModel = {
    ...model,
    baseUrl: canonical.baseUrl,
    compat: canonical.compat,
    maxTokens: canonical.maxTokens,
    contextWindow: canonical.contextWindow,
    input: canonical.input,
  } as Model<Api>;
  // pi-ai's API registry loads with the first request, not while pi starts.
  const apis = await import("@earendil-works/pi-ai/compat");
  const tail = answerTail();
  const stream = start(requestModel, apis, fetchKeepingTail(tail, options?.fetch));
  const answered = deps.answering(ours.id);
  const push = stream.push.bind(stream);
  stream.push = (event) => {
    if (event.type === "done" || event.type === "error") answered();
    push(event);
  };
  return deps.meter.follow(stream, `${LLAMAFILES_PROVIDER}/${ours.id}`, tail);
}
