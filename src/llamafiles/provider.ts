/**
 * The `llamafiles` provider: pi's own openai-completions streaming, behind the generic gate that
 * waits for the local server to be ready (src/backend/request.ts).
 *
 * pi reads `providers.llamafiles` from models.json itself, before extensions load,
 * and composes that block under any registration of the same name. Two ways to register:
 *
 * - The block has "api" and "baseUrl" (README's examples): a normal registration
 *   (`pi.registerProvider(name, config)`). pi marks it available at once, so a preselected
 *   llamafiles model is restored at start-up every time, and the listed models carry this
 *   extension's fields (per-model port, documented defaults).
 * - The minimal block (only "models"): pi cannot compose it (`no "api" specified`),
 *   and a normal registration is rejected the same way. A native provider is the base layer
 *   pi takes those defaults from, so the block composes and the models work; pi before 0.99.2
 *   decides a native provider's availability in an un-awaited refresh that can lose the race
 *   against start-up model resolution, so there the user is told the two lines to add
 *   (src/pi-versions/native-provider-start.ts).
 *
 * Once a server said what it serves (GET /props), its context size and image input replace
 * the declared ones (`served`), in the registry and in every request (src/llamafiles/backend.ts).
 */
import type { Api, Context, Model, Provider, SimpleStreamOptions } from "@earendil-works/pi-ai";
import type { ProviderConfig } from "@earendil-works/pi-coding-agent";
import type { BackendFeature } from "../backend/feature.ts";
import { LLAMAFILES_PROVIDER, type LlamafileModel, type LlamafilesConfig } from "./config.ts";
import { toPiModel } from "./pi-model.ts";

/** What the registrations need of the feature: its gated stream, and what servers said they serve. */
type Feature = Pick<BackendFeature<unknown, unknown>, "stream" | "served">;

/** The normal registration, for a block that carries "api" and "baseUrl" (or no block: only discovered models). */
export function llamafilesProviderConfig(config: LlamafilesConfig, models: LlamafileModel[], feature: Feature): ProviderConfig {
  return {
    name: "llamafiles",
    baseUrl: config.baseUrl,
    api: config.api as Api,
    apiKey: config.apiKey,
    models: models.map((model) => toPiModel(config, model, feature.served(model.id))),
    streamSimple: (model: Model<Api>, context: Context, options?: SimpleStreamOptions) =>
      feature.stream(model, options, (m, apis, fetch) => apis.streamSimple(m, context, { ...options, fetch })),
  } as ProviderConfig;
}

/** The native registration, for the minimal block (see the file comment). */
export function llamafilesNativeProvider(config: LlamafilesConfig, localModels: LlamafileModel[], feature: Feature): Provider {
  const models = localModels.map((model) => toPiModel(config, model, feature.served(model.id)));
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
      feature.stream(model, options, (m, apis, fetch) =>
        apis.stream(m, context, { ...(options as Parameters<typeof apis.stream>[2]), fetch }),
      ),
    streamSimple: (model, context, options?: SimpleStreamOptions) =>
      feature.stream(model, options, (m, apis, fetch) => apis.streamSimple(m, context, { ...options, fetch })),
  };
}
