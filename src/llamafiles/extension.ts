/**
 * The `llamafiles` half of the extension: config → provider → supervisor → hooks.
 * Hooks only translate pi events into supervisor verbs and return at once (a slow
 * start never blocks /model: the provider's stream waits instead).
 */
import { join } from "node:path";
import { getAgentDir, type ExtensionAPI, type ExtensionUIContext } from "@earendil-works/pi-coding-agent";
import { LLAMAFILES_PROVIDER, loadLlamafilesConfig } from "./config.ts";
import { registerLlamafilesCommand } from "./command.ts";
import {
  llamafilesNativeProvider,
  llamafilesProviderConfig,
  missingFieldsWarning,
  type EnsureReady,
} from "./provider.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { inspectionFromEnv } from "../pi-session/inspection.ts";
import type { LocalSupervisor } from "./supervisor.ts";
import { serverLogPath } from "./process/paths.ts";

/** Returns what the local supervisor is doing, for the working indicator. */
export function setUpLlamafiles(pi: ExtensionAPI): ActivitySource {
  const { config, warnings } = loadLlamafilesConfig({
    modelsPath: join(getAgentDir(), "models.json"),
    cwd: process.cwd(),
    logPathFor: serverLogPath,
  });
  let ui: { ui: ExtensionUIContext; hasUI: boolean } | undefined;
  let warned = false;
  const showWarnings = () => {
    if (warned || warnings.length === 0) return;
    warned = true;
    for (const warning of warnings) {
      if (ui?.hasUI) ui.ui.notify(warning, "warning");
      else process.stderr.write(`${warning}\n`);
    }
  };

  pi.on("session_start", (_event, ctx) => {
    ui = { ui: ctx.ui, hasUI: ctx.hasUI };
    showWarnings();
  });
  pi.on("session_shutdown", () => {
    ui = undefined;
  });
  if (!config) return () => undefined;

  // The statechart and its effects load on first use, so pi's start-up does not pay for
  // them unless a local model is in use (bench/local-lifecycle.ts measures start-up).
  let loaded: { supervisor: LocalSupervisor; redraw(): void; dispose(): void } | undefined;
  let loading: Promise<NonNullable<typeof loaded>> | undefined;
  const supervisor = () =>
    (loading ??= Promise.all([import("./supervisor.ts"), import("./status-view.ts"), inspectionFromEnv()]).then(
      ([{ createLocalSupervisor }, { bindLocalStatusView }, inspection]) => {
        const created = createLocalSupervisor({
          inspect: inspection?.inspect,
          askAboutForeignServer: async (model, advertised) => {
            if (!ui?.hasUI) return false;
            return ui.ui.confirm(
              "Port already in use",
              `Port ${model.port} is in use by a different server (advertises ${advertised.join(", ") || "no model id"}). Stop it and start ${model.name}?`,
            );
          },
        });
        const view = bindLocalStatusView(created, () => ui?.ui);
        const dispose = () => {
          view.dispose();
          inspection?.close();
        };
        return (loaded = { supervisor: created, redraw: view.redraw, dispose });
      },
    ));

  const byId = new Map(config.models.map((model) => [model.id, model]));
  /** The last model asked for, so the working indicator can tell before the supervisor loads. */
  let requested: (typeof config.models)[number] | undefined;
  const select = (modelId: string) => {
    const model = byId.get(modelId);
    requested = model;
    if (model) return void supervisor().then(({ supervisor }) => supervisor.select(model));
    ui?.ui.notify(
      `llamafiles: no usable model "${modelId}" in providers.llamafiles of ~/.pi/agent/models.json (missing, or skipped: see the start-up warning).`,
      "error",
    );
  };
  const ensureReady: EnsureReady = async (model, signal) => (await supervisor()).supervisor.ensureReady(model, signal);

  // Registered from the factory so a preselected llamafiles model is restored at start-up.
  const incomplete = missingFieldsWarning(config);
  if (incomplete) {
    warnings.push(incomplete);
    pi.registerProvider(llamafilesNativeProvider(config, ensureReady));
  } else {
    pi.registerProvider(LLAMAFILES_PROVIDER, llamafilesProviderConfig(config, ensureReady));
  }
  registerLlamafilesCommand(pi, () => loaded?.supervisor.status());

  pi.on("session_start", (_event, ctx) => {
    loaded?.redraw();
    if (ctx.model?.provider === LLAMAFILES_PROVIDER) select(ctx.model.id);
  });
  pi.on("model_select", (event) => {
    if (event.model.provider === LLAMAFILES_PROVIDER) select(event.model.id);
    // Nothing loaded means nothing was ever started: nothing to stop.
    else {
      requested = undefined;
      if (loading) void loading.then(({ supervisor }) => supervisor.deselect());
    }
  });
  pi.on("session_shutdown", async (event) => {
    if (!loading) return;
    const { supervisor, dispose } = await loading;
    if (event.reason === "quit") await supervisor.quit();
    else supervisor.detach();
    dispose();
  });

  return () => {
    if (!loaded) return requested ? `waiting for ${requested.name} to start on port ${requested.port}` : undefined;
    const status = loaded.supervisor.status();
    if (!status.model) return undefined;
    if (status.phase === "starting") return `waiting for ${status.model.name} to start on port ${status.model.port}`;
    if (status.phase === "stopping") return `stopping ${status.model.name}`;
    return undefined;
  };
}
