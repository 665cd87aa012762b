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
 *
 * Once a server said what it serves (GET /props), its context size and image input replace
 * the declared ones (`served`), in the registry and in every request; each answer's bytes
 * pass a tail that keeps the server's timings for the footer (src/llama-cpp/answer-meter.ts).
 */
import type { Api, AssistantMessageEventStream, Context, Model, Provider, SimpleStreamOptions } from "@earendil-works/pi-ai";
import { lazyStream } from "@earendil-works/pi-ai";
import type { ProviderConfig } from "@earendil-works/pi-coding-agent";
import { LLAMAFILES_PROVIDER, type LlamafilesConfig } from "./config.ts";
import { toPiModel } from "./pi-model.ts";
import type { LlamafilesProviderDeps, Start } from "./request.ts";

/** Waits until the model's server is ready, then streams the request as `start` does (src/llamafiles/request.ts). */
function gatedStream(
  config: LlamafilesConfig,
  deps: LlamafilesProviderDeps,
  model: Model<Api>,
  options: { signal?: AbortSignal; fetch?: typeof globalThis.fetch } | undefined,
  start: Start,
): AssistantMessageEventStream {
  return lazyStream(model, async () => (await import("./request.ts")).requestWhenReady(config, deps, model, options, start));
}

/** The normal registration, for a block that carries "api" and "baseUrl". */
export function llamafilesProviderConfig(config: LlamafilesConfig, deps: LlamafilesProviderDeps): ProviderConfig {
  return {
    name: "llamafiles",
    baseUrl: config.baseUrl,
    api: config.api as Api,
    apiKey: config.apiKey,
    models: config.models.map((model) => toPiModel(config, model, deps.served(model.id))),
    streamSimple: (model: Model<Api>, context: Context, options?: SimpleStreamOptions) =>
      gatedStream(config, deps, model, options, (m, apis, fetch) => apis.streamSimple(m, context, { ...options, fetch })),
  } as ProviderConfig;
}

/** The native registration, for the minimal block (see the file comment). */
export function llamafilesNativeProvider(config: LlamafilesConfig, deps: LlamafilesProviderDeps): Provider {
  const models = config.models.map((model) => toPiModel(config, model, deps.served(model.id)));
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
      gatedStream(config, deps, model, options as SimpleStreamOptions, (m, apis, fetch) =>
        apis.stream(m, context, { ...(options as Parameters<typeof apis.stream>[2]), fetch }),
      ),
    streamSimple: (model, context, options?: SimpleStreamOptions) =>
      gatedStream(config, deps, model, options, (m, apis, fetch) => apis.streamSimple(m, context, { ...options, fetch })),
  };
}
