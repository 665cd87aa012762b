/**
 * The `ai-server` provider: pi-ai's own openai-completions streaming (SSE, reasoning, tool
 * calls, usage with cacheRead from prompt_tokens_details.cached_tokens, retries), given an
 * mTLS `fetch` (docs/architecture.md, "The ai-server provider"). Before a request, the router-model machine makes sure the
 * model is loaded; failures the fetch recorded replace the SDK's generic "Connection error.".
 */
import type { Api, AssistantMessageEventStream, Context, Model, SimpleStreamOptions } from "@earendil-works/pi-ai";
import { lazyStream } from "@earendil-works/pi-ai";
import type { ProviderConfig } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { DeclaredModel, ServedOverride } from "../llama-cpp/model-facts.ts";
import { answerTail } from "../llama-cpp/timings.ts";
import { abortedStream, failedStream } from "../pi-session/ended-stream.ts";
import type { ChatModelConfig } from "../pi-versions/chat-model-config.ts";
import type { AiServerSettings, FallbackModel } from "./config.ts";
import { contextWindowOf, ctxSizeFromArgs, usableModels } from "./discovery.ts";
import { routerFailureText, type SettingsForWords } from "./messages.ts";
import type { RequestReport } from "./mtls-fetch.ts";
import type { RouterModel } from "./router-api.ts";

/** Placeholder the pi model registry requires (it hides models without a key); the mTLS fetch never sends it. */
export const AI_SERVER_API_KEY = "ai-server-mtls";
export const DEFAULT_CONTEXT_WINDOW = 131072;

/** pi's own llama.cpp compatibility flags (dist/extensions/llama/provider.js). */
const llamaCompat = {
  supportsStore: false,
  supportsDeveloperRole: false,
  supportsReasoningEffort: false,
  supportsUsageInStreaming: true,
  supportsStrictMode: false,
  maxTokensField: "max_tokens",
} as const;

function modelConfig(id: string, contextWindow: number, fallback?: FallbackModel): ChatModelConfig {
  return {
    id,
    name: fallback?.name ?? id,
    reasoning: fallback?.reasoning ?? false,
    input: fallback?.input ?? ["text"],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow,
    maxTokens: fallback?.maxTokens ?? contextWindow,
    compat: llamaCompat,
  } as ChatModelConfig;
}

/** pi models from the router's list: placeholders left out, context window from the preset. */
export function discoveredModels(models: RouterModel[], fallbacks: FallbackModel[]): ChatModelConfig[] {
  return usableModels(models).map((model) => {
    const fallback = fallbacks.find((candidate) => candidate.id === model.id);
    return modelConfig(model.id, contextWindowOf(model, fallback?.contextWindow ?? DEFAULT_CONTEXT_WINDOW), fallback);
  });
}

export function fallbackModels(fallbacks: FallbackModel[]): ChatModelConfig[] {
  return fallbacks.map((model) => modelConfig(model.id, model.contextWindow ?? DEFAULT_CONTEXT_WINDOW, model));
}

/** What the preset (its ctx-size) and the fallback entry told pi about a model, before its worker said anything. */
export function declaredModel(listed: RouterModel | undefined, fallback: FallbackModel | undefined): DeclaredModel {
  const presetCtx = listed && ctxSizeFromArgs(listed);
  return {
    contextWindow: presetCtx
      ? { value: presetCtx, source: "preset" }
      : fallback?.contextWindow
        ? { value: fallback.contextWindow, source: "fallback" }
        : undefined,
    input: fallback?.input,
    maxTokens: fallback?.maxTokens,
  };
}

/** A registered model, with what its worker said it serves. */
export function withServed(model: ChatModelConfig, served: ServedOverride | undefined): ChatModelConfig {
  return {
    ...model,
    contextWindow: served?.contextWindow ?? model.contextWindow,
    maxTokens: served?.maxTokens ?? model.maxTokens,
    input: served?.input ?? model.input,
  };
}

export interface AiServerStreamDeps {
  ensureReady(modelId: string, signal: AbortSignal | undefined): Promise<void>;
  /** An answer ended in an error (not a cancel): what the router reports may have changed. */
  answerFailed(modelId: string): void;
  fetchFor(report: RequestReport): typeof globalThis.fetch;
  meter: AnswerMeter;
}

/**
 * Puts the recorded reason in place of the SDK's error text. The stream's own `push` is
 * wrapped rather than the stream relayed: a relay costs an extra async hop per token.
 */
function withRecordedFailure(
  stream: AssistantMessageEventStream,
  report: RequestReport,
  settings: SettingsForWords,
  failed: () => void,
): AssistantMessageEventStream {
  const push = stream.push.bind(stream);
  stream.push = (event) => {
    if (event.type === "error" && event.reason === "error") {
      if (report.failure) event.error.errorMessage = routerFailureText(report.failure, settings);
      failed();
    }
    push(event);
  };
  return stream;
}

/** What pi registers for the router, whichever way its prompts are streamed. */
const routerProvider = (settings: AiServerSettings, models: ChatModelConfig[]) => ({
  name: "ai-server (llama.cpp router, mTLS)",
  baseUrl: `${settings.url}/v1`,
  api: "openai-completions" as const,
  apiKey: AI_SERVER_API_KEY,
  models,
});

export function aiServerProviderConfig(settings: AiServerSettings, models: ChatModelConfig[], deps: AiServerStreamDeps): ProviderConfig {
  return {
    ...routerProvider(settings, models),
    streamSimple: (model: Model<Api>, context: Context, options?: SimpleStreamOptions) =>
      lazyStream(model, async () => {
        try {
          await deps.ensureReady(model.id, options?.signal);
        } catch (error) {
          if (options?.signal?.aborted) return abortedStream(model);
          throw error;
        }
        const report: RequestReport = { failure: undefined, tail: answerTail() };
        const { streamSimple } = await import("@earendil-works/pi-ai/compat");
        const stream = streamSimple(model, context, { ...options, fetch: deps.fetchFor(report) });
        const reported = withRecordedFailure(stream, report, settings, () => deps.answerFailed(model.id));
        // Keyed by the name pi registered the model under, as the footer and the commands read it.
        return deps.meter.follow(reported, `${model.provider}/${model.id}`, report.tail!);
      }),
  } as ProviderConfig;
}

/** The provider when the router cannot be reached at all (certificate material missing): every prompt fails with `reason`. */
export function unusableProviderConfig(settings: AiServerSettings, models: ChatModelConfig[], reason: string): ProviderConfig {
  return {
    ...routerProvider(settings, models),
    streamSimple: (model: Model<Api>) => failedStream(model, reason),
  } as ProviderConfig;
}
