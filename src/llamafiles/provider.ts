/**
 * The `llamafiles` provider: pi's own openai-completions streaming, behind a gate that
 * waits for the local server to be ready (docs/architecture.md, "Why the provider waits").
 *
 * pi 0.87.1 reads `providers.llamafiles` from models.json itself, before extensions load,
 * and composes that block under any registration of the same name. Two ways to register:
 *
 * - The block has "api" and "baseUrl" (README's examples): a normal registration
 *   (`pi.registerProvider(name, config)`). pi marks it available at once, so a preselected
 *   llamafiles model is restored at start-up every time, and the listed models carry this
 *   extension's fields (per-model port, documented defaults).
 * - The minimal block (only "models"): pi cannot compose it (`no "api" specified`),
 *   and a normal registration is rejected the same way. A native provider is the base layer
 *   pi takes those defaults from, so the block composes and the models work; but pi 0.87.1
 *   decides a native provider's availability in an un-awaited refresh that can lose the race
 *   against start-up model resolution. So the user is told the two lines to add.
 */
import type { Api, AssistantMessageEventStream, Context, Model, Provider, SimpleStreamOptions } from "@earendil-works/pi-ai";
import { lazyStream } from "@earendil-works/pi-ai";
import type { ProviderConfig } from "@earendil-works/pi-coding-agent";
import type { LaunchSpec } from "../../machines/local-server.machine.ts";
import { abortedStream } from "../pi-session/aborted-stream.ts";
import { LLAMAFILES_PROVIDER, type LlamafileModel, type LlamafilesConfig } from "./config.ts";
import { notServingText } from "./messages.ts";

/** Resolves when the model's server is ready (the local supervisor's `ensureReady`). */
export type EnsureReady = (model: LaunchSpec, signal: AbortSignal | undefined) => Promise<void>;

// pi-ai's API registry is loaded on the first request, not while pi starts (~20 ms).
const piApis = () => import("@earendil-works/pi-ai/compat");

export function localBaseUrl(port: number): string {
  return `http://localhost:${port}/v1`;
}

export function toPiModel(config: LlamafilesConfig, model: LlamafileModel): Model<Api> {
  return {
    ...model.passthrough,
    id: model.id,
    name: model.name,
    api: config.api,
    provider: LLAMAFILES_PROVIDER,
    baseUrl: localBaseUrl(model.port),
    reasoning: model.reasoning,
    input: model.input,
    cost: model.cost,
    contextWindow: model.contextWindow,
    maxTokens: model.maxTokens,
    compat: { ...config.compat, ...(model.passthrough.compat as object | undefined) },
  } as Model<Api>;
}

/** Waits until the model's server is ready, then streams the request as `start` does. */
function gatedStream(
  config: LlamafilesConfig,
  ensureReady: EnsureReady,
  model: Model<Api>,
  signal: AbortSignal | undefined,
  start: (requestModel: Model<Api>, apis: Awaited<ReturnType<typeof piApis>>) => AssistantMessageEventStream,
): AssistantMessageEventStream {
  return lazyStream(model, async () => {
    const ours = config.models.find((candidate) => candidate.id === model.id);
    if (!ours) throw new Error(notServingText(model, { kind: "not-configured", modelId: model.id }));
    try {
      await ensureReady(ours, signal);
    } catch (error) {
      // Esc while waiting: end as an aborted request (not as an error pi would retry).
      if (signal?.aborted) return abortedStream(model);
      throw error;
    }
    // pi's listed copy may carry models.json-layer defaults (native case): send ours.
    const canonical = toPiModel(config, ours);
    const requestModel = { ...model, baseUrl: canonical.baseUrl, compat: canonical.compat, maxTokens: canonical.maxTokens } as Model<Api>;
    return start(requestModel, await piApis());
  });
}

/** The normal registration, for a block that carries "api" and "baseUrl". */
export function llamafilesProviderConfig(config: LlamafilesConfig, ensureReady: EnsureReady): ProviderConfig {
  return {
    name: "llamafiles",
    baseUrl: config.baseUrl,
    api: config.api as Api,
    apiKey: config.apiKey,
    models: config.models.map((model) => toPiModel(config, model)),
    streamSimple: (model: Model<Api>, context: Context, options?: SimpleStreamOptions) =>
      gatedStream(config, ensureReady, model, options?.signal, (m, apis) => apis.streamSimple(m, context, options)),
  } as ProviderConfig;
}

/** The native registration, for the minimal block (see the file comment). */
export function llamafilesNativeProvider(config: LlamafilesConfig, ensureReady: EnsureReady): Provider {
  const models = config.models.map((model) => toPiModel(config, model));
  return {
    id: LLAMAFILES_PROVIDER,
    name: "llamafiles",
    baseUrl: config.baseUrl,
    auth: {
      apiKey: {
        name: "llamafiles (local servers, no key needed)",
        check: async () => ({ type: "api_key", source: "llamafiles" }),
        resolve: async () => ({ auth: { apiKey: config.apiKey }, source: "llamafiles" }),
      },
    },
    getModels: () => models,
    stream: (model, context, options) =>
      gatedStream(config, ensureReady, model, options?.signal, (m, apis) =>
        apis.stream(m, context, options as Parameters<typeof apis.stream>[2]),
      ),
    streamSimple: (model, context, options?: SimpleStreamOptions) =>
      gatedStream(config, ensureReady, model, options?.signal, (m, apis) => apis.streamSimple(m, context, options)),
  };
}
