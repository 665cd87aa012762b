/**
 * The `llamafiles` backend in pi: config → provider → the generic feature's hooks
 * (src/backend/feature.ts: a slow start never blocks /model, the provider's stream waits
 * instead) and /llamafiles.
 */
import { join } from "node:path";
import { type ExtensionAPI, getAgentDir, VERSION } from "@earendil-works/pi-coding-agent";
import type { FleetStatus } from "../../machines/local-fleet.machine.ts";
import { backendFeature } from "../backend/feature.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { reply } from "../pi-session/notify.ts";
import { requestedModel } from "../pi-session/run-mode.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { StartupReport } from "../pi-session/startup-report.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { nativeProviderRacesStartUp } from "../pi-versions/native-provider-start.ts";
import { llamafilesBackend } from "./backend.ts";
import { type ConfigProblem, LLAMAFILES_PROVIDER, type LlamafilesConfig, loadLlamafilesConfig } from "./config.ts";
import { serverLogPath } from "./process/paths.ts";
import { llamafilesNativeProvider, llamafilesProviderConfig } from "./provider.ts";

/** `/llamafiles`: what runs now, its context and the last answer's figures, in every mode that has commands. */
function registerLlamafilesCommand(pi: ExtensionAPI, report: () => Promise<string>): void {
  pi.registerCommand("llamafiles", {
    description: "Show the local llamafile / llama-server that pi runs or adopted",
    handler: async (_args, ctx) => reply(ctx, await report()),
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

/** Problems that only matter to someone who wants local models (a user of the ai-server alone has no block). */
const onlyIfWanted = (problem: ConfigProblem) => problem.code === "file-missing" || problem.code === "no-block";

/**
 * Loads the config and registers the provider, its command and hooks; says what is wrong with
 * the config through the start-up report. Returns what the local supervisor is doing, for the
 * working indicator.
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
  const quiet = problems.filter(onlyIfWanted);
  const words = problems.length > 0 ? await import("./messages.ts") : undefined;
  // pi itself shows a models.json it cannot parse, in its TUI and with --list-models.
  const said = (problem: ConfigProblem) => ({
    text: words!.configProblemText(problem),
    level: "warning" as const,
    shownByPiWithUi: problem.code === "not-json",
  });
  report.add(...problems.filter((problem) => !onlyIfWanted(problem)).map(said));
  if (requestedModel()?.startsWith(`${LLAMAFILES_PROVIDER}/`)) report.add(...quiet.map(said));
  else if (quiet.length > 0) {
    // Said when a llamafiles model is what the session starts with (from settings or a resumed session).
    let told = false;
    pi.on("session_start", (_event, ctx) => {
      if (told || ctx.model?.provider !== LLAMAFILES_PROVIDER) return;
      told = true;
      for (const problem of quiet) session.tell(words!.configProblemText(problem), "warning");
    });
  }
  if (!config) {
    registerLlamafilesCommand(pi, async () => {
      const { llamafilesReport, configProblemText } = await import("./messages.ts");
      return [
        llamafilesReport(
          undefined,
          () => undefined,
          () => undefined,
        ),
        ...problems.map(configProblemText),
      ].join("\n");
    });
    return () => undefined;
  }

  const feature = backendFeature(
    pi,
    session,
    meter,
    llamafilesBackend(
      config,
      () => register(),
      () => session.conversation(),
    ),
  );
  const register = () => {
    if (config.missingForPi.length > 0) pi.registerProvider(llamafilesNativeProvider(config, feature));
    else pi.registerProvider(LLAMAFILES_PROVIDER, llamafilesProviderConfig(config, feature));
  };
  // Registered from the factory so a preselected llamafiles model is restored at start-up.
  register();
  registerLlamafilesCommand(pi, async () =>
    [
      (await import("./messages.ts")).llamafilesReport(
        feature.status(),
        (id) => feature.servedModels()?.model(id),
        (id) => meter.last(`${LLAMAFILES_PROVIDER}/${id}`),
      ),
      await promptCacheLines(config, feature.status(), session),
    ]
      .filter(Boolean)
      .join("\n"),
  );
  return feature.activity;
}
