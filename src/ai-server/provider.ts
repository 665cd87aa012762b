/**
 * The `ai-server` provider: pi-ai's own openai-completions streaming (SSE, reasoning, tool
 * calls, usage with cacheRead from prompt_tokens_details.cached_tokens, retries), given an
 * mTLS `fetch` (src/ai-server/session.ts plans each request). Before a request, the generic gate
 * (src/backend/request.ts) has the router-model machine make sure the model is loaded; failures
 * the fetch recorded replace the SDK's generic "Connection error.".
 */
import type { Api, AssistantMessageEventStream, Context, Model, SimpleStreamOptions } from "@earendil-works/pi-ai";
import type { ProviderConfig } from "@earendil-works/pi-coding-agent";
import type { DeclaredModel, ServedOverride } from "../llama-cpp/model-facts.ts";
import { failedStream } from "../pi-session/ended-stream.ts";
import type { ChatModelConfig } from "../pi-versions/chat-model-config.ts";
import type { AiServerSettings, FallbackModel } from "./config.ts";
import { contextWindowOf, ctxSizeFromArgs, usableModels } from "./discovery.ts";
import { label } from "./messages.ts";
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

/** What pi registers for the router, whichever way its prompts are streamed. */
const routerProvider = (settings: AiServerSettings, models: ChatModelConfig[]) => ({
  name: `${label(settings)} (llama.cpp router, mTLS)`,
  baseUrl: `${settings.url}/v1`,
  api: "openai-completions" as const,
  apiKey: AI_SERVER_API_KEY,
  models,
});

/** The provider: its models, and each prompt streamed by `streamSimple` (the generic gate, src/backend/request.ts). */
export function aiServerProviderConfig(
  settings: AiServerSettings,
  models: ChatModelConfig[],
  streamSimple: (model: Model<Api>, context: Context, options?: SimpleStreamOptions) => AssistantMessageEventStream,
): ProviderConfig {
  return { ...routerProvider(settings, models), streamSimple } as ProviderConfig;
}

/** The provider when the router cannot be reached at all (certificate material missing): every prompt fails with `reason`. */
export function unusableProviderConfig(settings: AiServerSettings, models: ChatModelConfig[], reason: string): ProviderConfig {
  return {
    ...routerProvider(settings, models),
    streamSimple: (model: Model<Api>) => failedStream(model, reason),
  } as ProviderConfig;
}
