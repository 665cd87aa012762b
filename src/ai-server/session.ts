/**
 * The ai-server side of a pi session: what pi's hooks and the slash commands call. It
 * discovers the router's models and registers the provider, loads the router-model
 * supervisor (statechart, effects, view) on first use, and answers the provider, the commands
 * and the working indicator from the chart's status.
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import type { RouterModelStatus } from "../../machines/router-model.machine.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { lazyMachinery } from "../pi-session/machinery.ts";
import { type ServedModels, servedModels } from "../pi-session/served-models.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ChatModelConfig } from "../pi-versions/chat-model-config.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import type { AiServerSettings } from "./config.ts";
import { activityPhrase, discoveryFallbackText, errorText, routerContextFix } from "./messages.ts";
import { createMtlsFetchFactory } from "./mtls-fetch.ts";
import { aiServerProviderConfig, DEFAULT_CONTEXT_WINDOW, declaredModel, discoveredModels, fallbackModels, withServed } from "./provider.ts";
import { createRouterApi, type RouterModel } from "./router-api.ts";
import type { RouterSupervisor } from "./supervisor.ts";
import type { TlsMaterial } from "./tls.ts";

export interface AiServerSession {
  /** The name pi lists the router's models under (model refs `<provider>/<id>`, the footer entry). */
  provider: string;
  settings: AiServerSettings;
  /** The router's last model list (for completion and id checks). */
  lastListing(): RouterModel[];
  /** GET /models again and re-register the provider; returns the registered models. */
  rediscover(timeoutMs?: number): Promise<{ models: ChatModelConfig[]; listing: RouterModel[] }>;
  supervisor(): Promise<RouterSupervisor>;
  sessionStarted(model: { provider: string; id: string } | undefined): void;
  modelSelected(model: { provider: string; id: string }): void;
  sessionEnding(): Promise<void>;
  activity(): string | undefined;
  status(): RouterModelStatus | undefined;
  /** What the loaded models' workers said they serve, as pi uses it. */
  served: ServedModels;
  meter: AnswerMeter;
}

/**
 * Discovers (bounded: pi's start never waits long for an unreachable router) and registers
 * the provider from the factory, so a preselected ai-server model restores. Returns the
 * session and, when the router could not be reached, the warning to show.
 */
export async function aiServerSession(
  pi: ExtensionAPI,
  provider: string,
  settings: AiServerSettings,
  material: TlsMaterial,
  session: SessionUi,
  meter: AnswerMeter,
): Promise<{ remote: AiServerSession; discoveryWarning: string | undefined }> {
  const api = createRouterApi(settings, material);
  const fetches = createMtlsFetchFactory(settings, material);
  let listing: RouterModel[] = [];
  let registered: ChatModelConfig[] = [];
  const served = servedModels({
    pi,
    session,
    provider,
    defaults: { contextWindow: DEFAULT_CONTEXT_WINDOW, maxTokens: DEFAULT_CONTEXT_WINDOW },
    fix: routerContextFix,
    reregister: () => register(registered),
  });
  /** What a loaded model's worker says it serves goes to pi's registry; a new load is told again. */
  const learnFrom = (status: RouterModelStatus) => {
    const id = status.modelId;
    if (!id) return;
    if (status.phase === "starting") served.forget(id);
    else if (status.phase === "ready" && status.props) {
      const declared = declaredModel(
        listing.find((model) => model.id === id),
        settings.fallbackModels.find((model) => model.id === id),
      );
      served.learn(id, id, declared, status.props);
    }
  };

  const machinery = lazyMachinery(async (inspect) => {
    const [{ createRouterSupervisor }, { bindRouterStatusView }] = await Promise.all([
      import("./supervisor.ts"),
      import("./status-view.ts"),
    ]);
    const supervisor = createRouterSupervisor({ api, settings, inspect });
    supervisor.status.subscribe(learnFrom);
    return { supervisor, view: bindRouterStatusView(supervisor, session, settings, meter, provider) };
  });

  const register = (models: ChatModelConfig[]) => {
    registered = models;
    pi.registerProvider(
      provider,
      aiServerProviderConfig(
        settings,
        models.map((model) => withServed(model, served.served(model.id))),
        {
          ensureReady: async (modelId, signal) => (await machinery.get()).supervisor.ensureReady(modelId, signal),
          answerFailed: (modelId) => machinery.loaded()?.supervisor.recheck(modelId),
          fetchFor: (report) => fetches.forRequest(report),
          meter,
        },
      ),
    );
  };

  /** The last model asked for, so the working indicator can tell before the supervisor loads. */
  let requested: string | undefined;
  const select = (modelId: string) => {
    requested = modelId;
    void machinery.get().then(({ supervisor }) => supervisor.select(modelId));
  };

  const remote: AiServerSession = {
    provider,
    settings,
    lastListing: () => listing,
    async rediscover(timeoutMs) {
      listing = await api.list({ timeoutMs });
      const models = discoveredModels(listing, settings.fallbackModels);
      register(models);
      return { models, listing };
    },
    supervisor: async () => (await machinery.get()).supervisor,
    sessionStarted(model) {
      machinery.loaded()?.redraw();
      // A model restored at start-up (settings, --model, a resumed session) is loaded by its
      // first prompt, never at start: the router is shared, and loading evicts another model.
      if (model?.provider === provider) requested = model.id;
    },
    modelSelected(model) {
      if (model.provider === provider) return select(model.id);
      requested = undefined;
      if (machinery.requested()) void machinery.get().then(({ supervisor }) => supervisor.deselect());
    },
    async sessionEnding() {
      // The router owns its workers: quitting pi unloads nothing (another client may use the model).
      if (machinery.requested()) {
        const { supervisor, dispose } = await machinery.get();
        supervisor.shutdown();
        dispose();
      }
      await fetches.close();
    },
    activity: () => activityPhrase(machinery.loaded()?.supervisor.status.current(), requested),
    status: () => machinery.loaded()?.supervisor.status.current(),
    served,
    meter,
  };

  try {
    await remote.rediscover(aiServerTimeouts.discoveryMs);
    return { remote, discoveryWarning: undefined };
  } catch (error) {
    const fallback = fallbackModels(settings.fallbackModels);
    if (fallback.length > 0) register(fallback);
    return { remote, discoveryWarning: discoveryFallbackText(errorText(error, settings), fallback.length) };
  }
}
