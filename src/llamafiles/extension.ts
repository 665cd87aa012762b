/**
 * The `llamafiles` backend in pi: config → the local models (declared, and discovered:
 * discovery-in-pi.ts) → provider → the generic feature's hooks (src/backend/feature.ts: a slow
 * start never blocks /model, the provider's stream waits instead) and /llamafiles.
 */
import { join } from "node:path";
import { type ExtensionAPI, getAgentDir, VERSION } from "@earendil-works/pi-coding-agent";
import type { FleetStatus } from "../../machines/local-fleet.machine.ts";
import { backendFeature } from "../backend/feature.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { reply } from "../pi-session/notify.ts";
import { runMode } from "../pi-session/run-mode.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { startModel } from "../pi-session/start-model.ts";
import type { StartupReport } from "../pi-session/startup-report.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { restoreLostStartModel } from "../pi-versions/lost-start-model.ts";
import { nativeProviderRacesStartUp } from "../pi-versions/native-provider-start.ts";
import { llamafilesBackend } from "./backend.ts";
import { type ConfigProblem, LLAMAFILES_PROVIDER, type LlamafilesConfig, loadLlamafilesConfig } from "./config.ts";
import { discoveryInPi } from "./discovery-in-pi.ts";
import { localModels } from "./local-models.ts";
import { serverLogPath } from "./process/paths.ts";
import { llamafilesNativeProvider, llamafilesProviderConfig } from "./provider.ts";

/** `/llamafiles [scan]`: what runs now and what discovery found, in every mode that has commands. */
function registerLlamafilesCommand(pi: ExtensionAPI, report: () => Promise<string>, scan: (() => Promise<string>) | undefined): void {
  pi.registerCommand("llamafiles", {
    description: "Show the local llamafile / llama-server models: what runs, what was discovered; `scan` looks again",
    getArgumentCompletions: (prefix) => ("scan".startsWith(prefix.trim()) ? [{ value: "scan", label: "scan" }] : null),
    handler: async (args, ctx) => {
      const words = args.trim();
      if (words === "") return reply(ctx, await report());
      if (words === "scan" && scan) return reply(ctx, await scan());
      const { llamafilesCommandText } = await import("./messages.ts");
      reply(ctx, words === "scan" ? llamafilesCommandText.noScan : llamafilesCommandText.usage, "warning");
    },
  });
}

/** /llamafiles' lines about the prompt cache: servers stopped for idleness, and every saved cache. */
async function promptCacheLines(config: LlamafilesConfig, fleet: FleetStatus | undefined, session: SessionUi): Promise<string> {
  const [{ savedCaches }, { promptCacheReport }] = await Promise.all([import("./prompt-cache/tidy.ts"), import("./messages.ts")]);
  const now = session.conversation()?.id;
  const caches = savedCaches().map(({ record }) => ({
    modelId: record.modelId,
    bytes: record.bytes,
    tokens: record.tokens,
    savedAt: record.savedAt,
    thisSession: record.session.id === now,
  }));
  return promptCacheReport(fleet, caches, config.promptCacheBudgetBytes);
}

/**
 * Loads the config, finds the local models, and registers the provider, its command and hooks;
 * says what is wrong with the config through the start-up report. Returns what the local
 * supervisor is doing, for the working indicator.
 */
export async function setUpLlamafiles(
  pi: ExtensionAPI,
  session: SessionUi,
  meter: AnswerMeter,
  report: StartupReport,
): Promise<ActivitySource> {
  const { config, problems } = loadLlamafilesConfig({
    modelsPath: join(getAgentDir(), "models.json"),
    cwd: process.cwd(),
    logPathFor: serverLogPath,
  });
  if (config && config.missingForPi.length > 0 && nativeProviderRacesStartUp(VERSION))
    problems.push({ code: "fields-pi-needs", missing: config.missingForPi, piVersion: VERSION });
  const words = problems.length > 0 ? await import("./messages.ts") : undefined;
  // pi itself shows a models.json it cannot parse, in its TUI and with --list-models.
  const said = (problem: ConfigProblem) => ({
    text: words!.configProblemText(problem),
    level: "warning" as const,
    shownByPiWithUi: problem.code === "not-json",
  });
  report.add(...problems.map(said));
  if (!config) {
    registerLlamafilesCommand(
      pi,
      async () => {
        const { llamafilesReport, configProblemText } = await import("./messages.ts");
        return [
          llamafilesReport(
            undefined,
            () => undefined,
            () => undefined,
          ),
          ...problems.map(configProblemText),
        ].join("\n");
      },
      undefined,
    );
    return () => undefined;
  }

  const models = localModels(config.models);
  const feature = backendFeature(
    pi,
    session,
    meter,
    llamafilesBackend(
      config,
      models,
      () => register(),
      () => session.conversation(),
    ),
  );
  let registered = false;
  let refused: ConfigProblem | undefined;
  const register = () => {
    // An empty provider is registered only to take back models a scan no longer finds.
    if (!registered && models.all().length === 0) return;
    try {
      if (config.missingForPi.length > 0) pi.registerProvider(llamafilesNativeProvider(config, models.all(), feature));
      else pi.registerProvider(LLAMAFILES_PROVIDER, llamafilesProviderConfig(config, models.all(), feature));
      registered = true;
      refused = undefined;
    } catch (error) {
      // pi checks the block and the models as it registers them; whatever it refuses must not stop pi.
      refused = { code: "registration-failed", detail: String((error as Error)?.message ?? error) };
    }
  };

  const start = startModel({ agentDir: getAgentDir(), cwd: process.cwd() });
  const discovery = config.discovery
    ? await discoveryInPi({
        pi,
        session,
        report,
        config: { ...config, discovery: config.discovery },
        models,
        register: () => {
          register();
          if (refused) void import("./messages.ts").then((m) => session.tell(m.configProblemText(refused!), "warning"));
        },
        logPathFor: serverLogPath,
        mode: runMode(),
        start,
      })
    : undefined;
  // Registered from the factory so a preselected llamafiles model is restored at start-up.
  register();
  if (refused) report.add(said(refused));
  // A native provider's model can still be lost at start-up (src/pi-versions/lost-start-model.ts).
  if (config.missingForPi.length > 0) pi.on("session_start", (_event, ctx) => restoreLostStartModel(pi, ctx, LLAMAFILES_PROVIDER, start));

  // What the command reads is taken when it runs: the fleet's status and the models change.
  const now = () => ({
    status: feature.status(),
    served: (id: string) => feature.servedModels()?.model(id),
    last: (id: string) => meter.last(`${LLAMAFILES_PROVIDER}/${id}`),
    models,
    declared: config.models.length,
    problems,
    discovery,
  });
  registerLlamafilesCommand(
    pi,
    async () =>
      [await (await import("./llamafiles-command.ts")).llamafilesText(now()), await promptCacheLines(config, feature.status(), session)]
        .filter(Boolean)
        .join("\n"),
    discovery && (async () => (await import("./llamafiles-command.ts")).scanText({ ...now(), discovery })),
  );

  return feature.activity;
}
