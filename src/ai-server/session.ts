/**
 * The `ai-server` backend (src/backend/contract.ts): one llama.cpp router behind an mTLS proxy,
 * one pi provider. It discovers the router's models and registers the provider (bounded: pi's
 * start never waits long for an unreachable router), and puts the router-model statechart into
 * pi through the generic feature, which loads it on first use. Several routers are several
 * sessions (src/ai-server/extension.ts); the slash commands act through what this returns.
 */
import type { Api, Context, Model, SimpleStreamOptions } from "@earendil-works/pi-ai";
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import type { RouterModelStatus, RouterNotice } from "../../machines/router-model.machine.ts";
import type { Backend } from "../backend/contract.ts";
import { type BackendFeature, backendFeature } from "../backend/feature.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ChatModelConfig } from "../pi-versions/chat-model-config.ts";
import type { AiServerSettings } from "./config.ts";
import { alsoOnText, discoveryFallbackText, errorText, type OtherRouter, routerFailureText } from "./messages.ts";
import { createMtlsFetchFactory, type RequestReport } from "./mtls-fetch.ts";
import { aiServerProviderConfig, DEFAULT_CONTEXT_WINDOW, declaredModel, discoveredModels, fallbackModels, withServed } from "./provider.ts";
import { createRouterApi, type RouterApi, type RouterModel } from "./router-api.ts";
import { type RouterSlotCache, routerSlotCache } from "./slot-cache.ts";
import type { RouterSupervisor } from "./supervisor.ts";
import type { TlsMaterial } from "./tls.ts";

/** What the slash commands use: the router, its last listing, the supervisor, what servers said. */
export interface AiServerSession {
  /** The name pi lists the router's models under (model refs `<provider>/<id>`, the footer entry). */
  provider: string;
  settings: AiServerSettings;
  /** The router's last model list (for completion and id checks). */
  lastListing(): RouterModel[];
  /** The ids pi offers in /model for this router now (discovered, or the fallback list). */
  offered(): string[];
  /** GET /models again and re-register the provider; returns the registered models. */
  rediscover(timeoutMs?: number): Promise<{ models: ChatModelConfig[]; listing: RouterModel[] }>;
  /**
   * The first discovery (GET /models within `timeoutMs`), registering nothing yet: what it
   * returns registers the provider (what was found, else the fallback models) and gives the
   * warning to show, if any. Several routers are asked at once and registered in order.
   */
  discoverAtStart(timeoutMs: number): Promise<() => string | undefined>;
  supervisor(): Promise<RouterSupervisor>;
  status(): RouterModelStatus | undefined;
  feature: BackendFeature<RouterModelStatus, RouterNotice>;
  meter: AnswerMeter;
}

/**
 * The session of one router, its provider named by `settings.provider`. Nothing is asked of the
 * router here (discoverAtStart does). `alsoOn` names the other routers that offer a model.
 */
export function aiServerSession(
  pi: ExtensionAPI,
  settings: AiServerSettings,
  material: TlsMaterial,
  session: SessionUi,
  meter: AnswerMeter,
  alsoOn: (modelId: string) => OtherRouter[] = () => [],
): AiServerSession {
  const { provider } = settings;
  const api = createRouterApi(settings, material);
  const fetches = createMtlsFetchFactory(settings, material);
  let listing: RouterModel[] = [];
  let registered: ChatModelConfig[] = [];

  const backend = routerBackend({
    provider,
    settings,
    api,
    fetches,
    listing: () => listing,
    reregister: () => register(registered),
    alsoOn,
    slots: routerSlotCache({ url: settings.url, api, conversation: () => session.conversation() }),
  });
  const feature = backendFeature(pi, session, meter, backend);

  const register = (models: ChatModelConfig[]) => {
    registered = models;
    pi.registerProvider(
      provider,
      aiServerProviderConfig(
        settings,
        models.map((model) => withServed(model, feature.served(model.id))),
        (model: Model<Api>, context: Context, options?: SimpleStreamOptions) =>
          feature.stream(model, options, (m, apis, fetch) => apis.streamSimple(m, context, { ...options, fetch })),
      ),
    );
  };

  return {
    provider,
    settings,
    lastListing: () => listing,
    offered: () => registered.map((model) => model.id),
    async rediscover(timeoutMs) {
      listing = await api.list({ timeoutMs });
      const models = discoveredModels(listing, settings.fallbackModels);
      register(models);
      return { models, listing };
    },
    async discoverAtStart(timeoutMs) {
      try {
        listing = await api.list({ timeoutMs });
        return () => {
          register(discoveredModels(listing, settings.fallbackModels));
          return undefined;
        };
      } catch (error) {
        return () => {
          const fallback = fallbackModels(settings.fallbackModels);
          if (fallback.length > 0) register(fallback);
          return discoveryFallbackText(errorText(error, settings), fallback.length, settings);
        };
      }
    },
    supervisor: () => feature.supervisor() as Promise<RouterSupervisor>,
    status: feature.status,
    feature,
    meter,
  };
}

export interface RouterBackendDeps {
  /** The pi provider the router's models are listed under (several routers, several providers). */
  provider: string;
  settings: AiServerSettings;
  api: RouterApi;
  fetches: ReturnType<typeof createMtlsFetchFactory>;
  /** The router's last model list. */
  listing(): RouterModel[];
  reregister(): void;
  /** The other routers that offer a model: named when this one cannot be used. */
  alsoOn?: (modelId: string) => OtherRouter[];
  /** This session's slots on the router (src/ai-server/slot-cache.ts). */
  slots?: RouterSlotCache;
}

/** The router as a backend: its chart, its words, and how a request goes over mTLS. */
export function routerBackend({
  provider,
  settings,
  api,
  fetches,
  listing,
  reregister,
  alsoOn = () => [],
  slots,
}: RouterBackendDeps): Backend<RouterModelStatus, RouterNotice> {
  const backend: Backend<RouterModelStatus, RouterNotice> = {
    provider,
    // The router is shared: a model restored at start-up loads with its first prompt, never at start.
    supervisedFromSessionStart: false,
    async loadSupervisor(inspect) {
      const { createRouterSupervisor } = await import("./supervisor.ts");
      // Each router its own actor, told apart in the inspector.
      return createRouterSupervisor({ api, settings, inspect, id: `routerModel:${provider}`, alsoOn, slots });
    },
    async loadWords() {
      const messages = await import("./messages.ts");
      return {
        footer: (status, { now, phaseSinceMs, last }) =>
          messages.footerText(status, phaseSinceMs, now, status.modelId ? last(status.modelId) : undefined, settings),
        footerTicks: (status) => status.phase === "starting",
        activity: (status, requested) => messages.activityPhrase(status, requested, settings),
        // A restart is reported by the command that asked for it, with its time and what the router lists then.
        notice: (notice) =>
          notice.kind === "restarted" || notice.kind === "restart-failed"
            ? []
            : [{ ...messages.noticeMessage(notice, settings, alsoOn(notice.modelId)), channel: "notify" }],
        contextFix: messages.routerContextFix(settings),
      };
    },
    shown: (status) => (status.modelId ? { modelId: status.modelId, phase: status.phase, props: status.props } : undefined),
    servings(status) {
      const shown = backend.shown(status);
      return shown ? [shown] : [];
    },
    declared: (modelId) => ({
      name: modelId,
      declared: declaredModel(
        listing().find((model) => model.id === modelId),
        settings.fallbackModels.find((model) => model.id === modelId),
      ),
    }),
    defaults: { contextWindow: DEFAULT_CONTEXT_WINDOW, maxTokens: DEFAULT_CONTEXT_WINDOW },
    planRequest(model, _served, tail) {
      const report: RequestReport = { failure: undefined, tail };
      const fetch = fetches.forRequest(report);
      return {
        model,
        // A model whose slots the router keeps: this session's requests go to its own slot.
        fetch: slots
          ? (((input: string | URL | Request, init?: RequestInit) =>
              fetch(input, typeof init?.body === "string" ? { ...init, body: slots.pinned(model.id, init.body) } : init)) as typeof fetch)
          : fetch,
        failureText: () =>
          report.failure ? routerFailureText(report.failure, settings) + alsoOnText(model.id, report.failure, alsoOn(model.id)) : undefined,
      };
    },
    reregister,
    close: () => fetches.close(),
  };
  return backend;
}
