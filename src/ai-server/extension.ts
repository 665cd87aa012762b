/**
 * The `ai-server` half of the extension: settings → TLS material → discovery → provider →
 * router-model supervisor → hooks and commands. Registers nothing unless AI_SERVER_URL (or
 * "url" in ~/.pi/agent/ai-server.json) is set.
 */
import { getAgentDir, type ExtensionAPI, type ExtensionUIContext, type ProviderModelConfig } from "@earendil-works/pi-coding-agent";
import { AI_SERVER_PROVIDER, loadAiServerSettings, type AiServerSettings } from "./config.ts";
import type { TlsMaterial } from "./tls.ts";
import type { RouterApi, RouterModel } from "./router-api.ts";
import { inspectionFromEnv } from "../pi-session/inspection.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import type { RouterSupervisor } from "./supervisor.ts";

/** pi's start must never wait long for an unreachable router (issue: ~3 s at most). */
export const DISCOVERY_TIMEOUT_MS = 2_500;

export interface AiServerRuntime {
  settings: AiServerSettings;
  api: RouterApi;
  /** The router's last model list (for completion and id checks). */
  lastListing(): RouterModel[];
  /** GET /models again and re-register the provider; returns the registered models. */
  rediscover(timeoutMs?: number): Promise<{ models: ProviderModelConfig[]; listing: RouterModel[] }>;
  supervisor(): Promise<RouterSupervisor>;
}

/** Returns what the router-model supervisor is doing, for the working indicator. */
export async function setUpAiServer(pi: ExtensionAPI): Promise<ActivitySource> {
  const { settings, warnings, errors } = loadAiServerSettings({ env: process.env, agentDir: getAgentDir() });
  let ui: { ui: ExtensionUIContext; hasUI: boolean } | undefined;
  const messages = [...errors.map((text) => ({ text, level: "error" as const })), ...warnings.map((text) => ({ text, level: "warning" as const }))];
  let shown = false;
  pi.on("session_start", (_event, ctx) => {
    ui = { ui: ctx.ui, hasUI: ctx.hasUI };
    if (shown) return;
    shown = true;
    for (const { text, level } of messages) {
      if (ctx.hasUI) ctx.ui.notify(text, level);
      else process.stderr.write(`${text}\n`);
    }
  });
  pi.on("session_shutdown", () => {
    ui = undefined;
  });
  const idle: ActivitySource = () => undefined;
  if (!settings) return idle;

  // The rest loads only when the provider is configured: pi's start-up does not pay for it otherwise.
  const [{ loadTlsMaterial }, { createRouterApi }, { createMtlsFetchFactory }, { aiServerProviderConfig, discoveredModels, fallbackModels }, { registerAiServerCommands }] =
    await Promise.all([
      import("./tls.ts"),
      import("./router-api.ts"),
      import("./mtls-fetch.ts"),
      import("./provider.ts"),
      import("./commands.ts"),
    ]);
  const tls = loadTlsMaterial(settings);
  messages.push(...tls.errors.map((text) => ({ text, level: "error" as const })), ...tls.warnings.map((text) => ({ text, level: "warning" as const })));
  if (!tls.material) return idle;
  const material: TlsMaterial = tls.material;

  const api = createRouterApi(settings, material);
  const fetches = createMtlsFetchFactory(settings, material);
  let listing: RouterModel[] = [];

  // The router-model machine loads on first use, like the local one.
  let loading: Promise<{ supervisor: RouterSupervisor; redraw(): void; dispose(): void }> | undefined;
  let loaded: Awaited<NonNullable<typeof loading>> | undefined;
  const supervisor = () =>
    (loading ??= Promise.all([import("./supervisor.ts"), import("./status-view.ts"), inspectionFromEnv()]).then(
      ([{ createRouterSupervisor }, { bindRouterStatusView }, inspection]) => {
        const created = createRouterSupervisor({ api, inspect: inspection?.inspect });
        const view = bindRouterStatusView(created, () => ui?.ui);
        const dispose = () => {
          view.dispose();
          inspection?.close();
        };
        return (loaded = { supervisor: created, redraw: view.redraw, dispose });
      },
    ));

  const register = (models: ProviderModelConfig[]) =>
    pi.registerProvider(
      AI_SERVER_PROVIDER,
      aiServerProviderConfig(settings, models, {
        ensureReady: async (modelId, signal) => (await supervisor()).supervisor.ensureReady(modelId, signal),
        fetchFor: (report) => fetches.forRequest(report),
      }),
    );

  const runtime: AiServerRuntime = {
    settings,
    api,
    lastListing: () => listing,
    async rediscover(timeoutMs) {
      listing = await api.list({ timeoutMs });
      const models = discoveredModels(listing, settings.fallbackModels);
      register(models);
      return { models, listing };
    },
    supervisor: async () => (await supervisor()).supervisor,
  };

  // Registered from the factory (awaited, bounded) so a preselected ai-server model restores.
  try {
    await runtime.rediscover(DISCOVERY_TIMEOUT_MS);
  } catch (error) {
    const fallback = fallbackModels(settings.fallbackModels);
    if (fallback.length > 0) register(fallback);
    messages.push({
      level: "warning",
      text: `${(error as Error).message}\nai-server: ${fallback.length > 0 ? `using the ${fallback.length} fallback model(s) from ~/.pi/agent/ai-server.json` : "no models registered"}; run /ai-server-refresh once the router is reachable.`,
    });
  }

  registerAiServerCommands(pi, runtime);

  /** The last model asked for, so the working indicator can tell before the supervisor loads. */
  let requested: string | undefined;
  const select = (modelId: string) => {
    requested = modelId;
    void supervisor().then(({ supervisor }) => supervisor.select(modelId));
  };
  pi.on("session_start", (_event, ctx) => {
    loaded?.redraw();
    if (ctx.model?.provider === AI_SERVER_PROVIDER) select(ctx.model.id);
  });
  pi.on("model_select", (event) => {
    if (event.model.provider === AI_SERVER_PROVIDER) select(event.model.id);
    else {
      requested = undefined;
      if (loading) void loading.then(({ supervisor }) => supervisor.deselect());
    }
  });
  pi.on("session_shutdown", async () => {
    // The router owns its workers: quitting pi unloads nothing (another client may use the model).
    if (loading) {
      const { supervisor, dispose } = await loading;
      supervisor.shutdown();
      dispose();
    }
    await fetches.close();
  });

  return () => {
    if (!loaded) return requested ? `checking ${requested} on the router` : undefined;
    const status = loaded.supervisor.status();
    if (status.phase === "starting") return `loading ${status.modelId} on the router`;
    if (status.phase === "stopping") return `unloading ${status.modelId} on the router`;
    return undefined;
  };
}
