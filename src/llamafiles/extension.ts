/**
 * The `llamafiles` feature in pi: config → provider → hooks. Hooks only hand pi's events to
 * the session glue and return at once (a slow start never blocks /model: the provider's
 * stream waits instead).
 */
import { join } from "node:path";
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { registerLlamafilesCommand } from "./command.ts";
import { LLAMAFILES_PROVIDER, loadLlamafilesConfig } from "./config.ts";
import { configProblemText } from "./messages.ts";
import { serverLogPath } from "./process/paths.ts";
import { llamafilesNativeProvider, llamafilesProviderConfig } from "./provider.ts";
import { llamafilesSession } from "./session.ts";

/** Returns what the local supervisor is doing, for the working indicator. */
export function setUpLlamafiles(pi: ExtensionAPI, session: SessionUi): ActivitySource {
  const { config, problems } = loadLlamafilesConfig({
    modelsPath: join(getAgentDir(), "models.json"),
    cwd: process.cwd(),
    logPathFor: serverLogPath,
  });
  if (config && config.missingForPi.length > 0) problems.push({ code: "fields-pi-needs", missing: config.missingForPi });
  let warned = false;
  pi.on("session_start", () => {
    if (warned) return;
    warned = true;
    for (const problem of problems) session.tell(configProblemText(problem), "warning");
  });
  if (!config) {
    registerLlamafilesCommand(pi, () => undefined);
    return () => undefined;
  }

  const local = llamafilesSession(config, session);
  // Registered from the factory so a preselected llamafiles model is restored at start-up.
  if (config.missingForPi.length > 0) pi.registerProvider(llamafilesNativeProvider(config, local.ensureReady));
  else pi.registerProvider(LLAMAFILES_PROVIDER, llamafilesProviderConfig(config, local.ensureReady));
  registerLlamafilesCommand(pi, local.status);

  pi.on("session_start", (_event, ctx) => local.sessionStarted(ctx.model));
  pi.on("model_select", (event) => local.modelSelected(event.model));
  pi.on("session_shutdown", (event) => local.sessionEnding(event.reason));
  return local.activity;
}
