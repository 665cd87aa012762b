/**
 * The `llamafiles` backend in pi: config → the local models (declared, and discovered:
 * discovery-in-pi.ts) → provider → the generic feature's hooks (src/backend/feature.ts: a slow
 * start never blocks /model, the provider's stream waits instead) and /llamafiles.
 */
import { join } from "node:path";
import { type ExtensionAPI, getAgentDir, VERSION } from "@earendil-works/pi-coding-agent";
import type { WarmSpec } from "../../machines/local-fleet.machine.ts";
import { backendFeature } from "../backend/feature.ts";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { reply } from "../pi-session/notify.ts";
import { runMode } from "../pi-session/run-mode.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import { startModel } from "../pi-session/start-model.ts";
import type { StartupReport } from "../pi-session/startup-report.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { nativeProviderRacesStartUp } from "../pi-versions/native-provider-start.ts";
import { llamafilesBackend } from "./backend.ts";
import { type ConfigProblem, LLAMAFILES_PROVIDER, loadLlamafilesConfig } from "./config.ts";
import { type DiscoveryInPi, discoveryInPi } from "./discovery-in-pi.ts";
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
  const declaredCount = config.models.length;
  const feature = backendFeature(
    pi,
    session,
    meter,
    llamafilesBackend(config, models, session, () => register()),
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
        start: startModel({ agentDir: getAgentDir(), cwd: process.cwd() }),
      })
    : undefined;
  // Registered from the factory so a preselected llamafiles model is restored at start-up.
  register();
  if (refused) report.add(said(refused));

  registerLlamafilesCommand(
    pi,
    async () => llamafilesText(await import("./messages.ts"), discovery, (model) => memoryNow(feature.status(), model)),
    discovery &&
      (async () => {
        const messages = await import("./messages.ts");
        const { before, outcome } = await discovery.rescan();
        const after = outcome.models.map((model) => model.id);
        const text = await llamafilesText(messages, discovery, (model) => memoryNow(feature.status(), model));
        return `${messages.rescanText(before, after)}\n${text}`;
      }),
  );

  /** The words of /llamafiles: the servers, then what discovery found and skipped. */
  async function llamafilesText(
    messages: typeof import("./messages.ts"),
    found: DiscoveryInPi | undefined,
    memory: (model: WarmSpec) => Promise<string | undefined>,
  ): Promise<string> {
    const status = feature.status();
    const running = (status?.servers ?? []).filter((entry) => entry.status.phase !== "idle" && entry.status.phase !== "ended");
    const memoryLines = new Map(await Promise.all(running.map(async (entry) => [entry.model.id, await memory(entry.model)] as const)));
    const servers = messages.llamafilesReport(
      status,
      (id) => feature.servedModels()?.model(id),
      (id) => meter.last(`${LLAMAFILES_PROVIDER}/${id}`),
      Date.now(),
      (model) => memoryLines.get(model.id),
    );
    const discovered = found
      ? messages.discoveryReportLines(
          { outcome: await found.outcome(), defaultFolders: found.defaultFolders(), declared: declaredCount },
          new Set(running.map((entry) => entry.model.id)),
          found.home,
        )
      : messages.discoveryReportLines("off", new Set(), "");
    return [servers, ...problems.map(messages.configProblemText), ...discovered].join("\n");
  }

  /** A running server's memory line: its estimate beside the resident memory of its process group. */
  async function memoryNow(status: ReturnType<typeof feature.status>, model: WarmSpec): Promise<string | undefined> {
    const entry = status?.servers.find((server) => server.model.id === model.id);
    const pid = entry?.status.adopted ? undefined : entry?.status.pid;
    if (pid === undefined) return undefined;
    const [{ groupResidentBytes }, { memoryLine }] = await Promise.all([import("./resident-memory.ts"), import("./messages.ts")]);
    return memoryLine(models.get(model.id) ?? model, await groupResidentBytes(pid));
  }

  return feature.activity;
}
