/**
 * The `llamafiles` provider, registered as a native pi-ai provider.
 *
 * Why native and not `registerProvider(name, config)`: pi 0.87.1 composes the
 * models.json block of a provider *under* every registration of the same name and
 * rejects it when a model has neither `api` nor `baseUrl` (it finds no defaults), so the
 * spec's minimal config (only `models`) would fail. A native provider is the base layer
 * pi takes those defaults from, so the minimal config composes. pi's models.json layer
 * then lists the models with its own defaults for omitted fields; requests are sent
 * with this extension's own model (port, compat, maxTokens), see `requestModel`.
 */
import type { Api, AssistantMessageEventStream, Model, Provider, SimpleStreamOptions } from "@earendil-works/pi-ai";
import { createAssistantMessageEventStream, lazyStream } from "@earendil-works/pi-ai";
import { stream as streamApi, streamSimple as streamSimpleApi } from "@earendil-works/pi-ai/compat";
import { LLAMAFILES_PROVIDER, type LlamafileModel, type LlamafilesConfig } from "../config/llamafiles-config.ts";
import type { LocalSupervisor } from "../local/local-supervisor.ts";

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

/** The stream pi-ai's own implementations end with when the request's signal aborts. */
function abortedStream(model: Model<Api>): AssistantMessageEventStream {
  const stream = createAssistantMessageEventStream();
  const message = {
    role: "assistant" as const,
    content: [],
    api: model.api,
    provider: model.provider,
    model: model.id,
    usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
    stopReason: "aborted" as const,
    errorMessage: "Request was aborted",
    timestamp: Date.now(),
  };
  stream.push({ type: "error", reason: "aborted", error: message });
  stream.end(message);
  return stream;
}

export function createLlamafilesProvider(config: LlamafilesConfig, supervisor: LocalSupervisor): Provider {
  const byId = new Map(config.models.map((model) => [model.id, model]));
  const models = config.models.map((model) => toPiModel(config, model));

  /** The model as this extension defines it: pi's listed copy may carry models.json-layer defaults. */
  const requestModel = (model: Model<Api>): Model<Api> => {
    const ours = byId.get(model.id)!;
    const canonical = toPiModel(config, ours);
    return { ...model, baseUrl: canonical.baseUrl, compat: canonical.compat, maxTokens: canonical.maxTokens } as Model<Api>;
  };

  /** Waits for the server (DESIGN §5.1), then streams like any openai-completions model. */
  const gated = (model: Model<Api>, signal: AbortSignal | undefined, start: (m: Model<Api>) => AssistantMessageEventStream) =>
    lazyStream(model, async () => {
      const ours = byId.get(model.id);
      if (!ours) {
        throw new Error(
          `llamafiles: model "${model.id}" is not usable: it is missing or was skipped in providers.llamafiles of ~/.pi/agent/models.json (see the warning at start-up), then /reload.`,
        );
      }
      try {
        await supervisor.ensureReady(ours, signal);
      } catch (error) {
        // Esc while waiting: end as an aborted request (not an error pi would retry).
        if (signal?.aborted) return abortedStream(model);
        throw error;
      }
      return start(requestModel(model));
    });

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
      gated(model, options?.signal, (m) => streamApi(m, context, options as Parameters<typeof streamApi>[2])),
    streamSimple: (model, context, options?: SimpleStreamOptions) =>
      gated(model, options?.signal, (m) => streamSimpleApi(m, context, options)),
  };
}
