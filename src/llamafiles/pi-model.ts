/** What pi sees of a configured local model: its registry entry. */
import type { Api, Model } from "@earendil-works/pi-ai";
import type { ServedOverride } from "../llama-cpp/model-facts.ts";
import { LLAMAFILES_PROVIDER, type LlamafileModel, type LlamafilesConfig } from "./config.ts";

export function localBaseUrl(port: number): string {
  return `http://localhost:${port}/v1`;
}

export function toPiModel(config: LlamafilesConfig, model: LlamafileModel, served?: ServedOverride): Model<Api> {
  return {
    ...model.passthrough,
    id: model.id,
    name: model.name,
    api: config.api,
    provider: LLAMAFILES_PROVIDER,
    baseUrl: localBaseUrl(model.port),
    reasoning: model.reasoning,
    input: served?.input ?? model.input,
    cost: model.cost,
    contextWindow: served?.contextWindow ?? model.contextWindow,
    maxTokens: served?.maxTokens ?? model.maxTokens,
    compat: { ...config.compat, ...(model.passthrough.compat as object | undefined) },
  } as Model<Api>;
}
