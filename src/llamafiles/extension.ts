/**
 * The `llamafiles` feature in pi: config → provider → hooks. Hooks only hand pi's events to
 * the session glue and return at once (a slow start never blocks /model: the provider's
 * stream waits instead).
 */
import { join } from "node:path";
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import { reply } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { LLAMAFILES_PROVIDER, loadLlamafilesConfig } from "./config.ts";
import { serverLogPath } from "./process/paths.ts";
import { llamafilesNativeProvider, llamafilesProviderConfig } from "./provider.ts";
import type { LlamafilesProviderDeps } from "./request.ts";
import { llamafilesSession } from "./session.ts";

/** `/llamafiles`: what runs now, its context and the last answer's figures, in every mode that has commands. */
function registerLlamafilesCommand(pi: ExtensionAPI, report: () => Promise<string>): void {
  pi.registerCommand("llamafiles", {
    description: "Show the local llamafile / llama-server that pi runs or adopted",
    handler: async (_args, ctx) => reply(ctx, await report()),
  });
}

/** Returns what the local supervisor is doing, for the working indicator. */
export function setUpLlamafiles(pi: ExtensionAPI, session: SessionUi, meter: AnswerMeter): ActivitySource {
  const { config, problems } = loadLlamafilesConfig({
    modelsPath: join(getAgentDir(), "models.json"),
    cwd: process.cwd(),
    logPathFor: serverLogPath,
  });
  if (config && config.missingForPi.length > 0) problems.push({ code: "fields-pi-needs", missing: config.missingForPi });
  let warned = false;
  pi.on("session_start", async () => {
    if (warned || problems.length === 0) return;
    warned = true;
    const { configProblemText } = await import("./messages.ts");
    for (const problem of problems) session.tell(configProblemText(problem), "warning");
  });
  if (!config) {
    registerLlamafilesCommand(pi, async () => (await import("./messages.ts")).llamafilesReport(undefined));
    return () => undefined;
  }

  const local = llamafilesSession(config, session, { meter, pi, reregister: () => register() });
  const deps: LlamafilesProviderDeps = { ensureReady: local.ensureReady, served: local.served, meter };
  const register = () => {
    if (config.missingForPi.length > 0) pi.registerProvider(llamafilesNativeProvider(config, deps));
    else pi.registerProvider(LLAMAFILES_PROVIDER, llamafilesProviderConfig(config, deps));
  };
  // Registered from the factory so a preselected llamafiles model is restored at start-up.
  register();
  registerLlamafilesCommand(pi, local.report);

  pi.on("session_start", (_event, ctx) => local.sessionStarted(ctx.model));
  pi.on("model_select", (event) => local.modelSelected(event.model));
  pi.on("session_shutdown", (event) => local.sessionEnding(event.reason));
  return local.activity;
}
