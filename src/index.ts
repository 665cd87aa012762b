/**
 * pi-llama-supervisor: self-hosted llama.cpp models in pi.
 *   llamafiles — local servers pi starts, adopts and stops (src/llamafiles, machines/local-server.machine.ts)
 *   ai-server  — remote llama.cpp routers behind mTLS proxies, one pi provider each (src/ai-server,
 *                machines/router-model.machine.ts)
 * both put into pi by the generic provider feature (src/backend), what their servers report
 * (src/llama-cpp: context, capabilities, each answer's figures),
 * and pi's working indicator, saying which of them pi is waiting for (src/pi-session/working-indicator.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import { answerMeter } from "./llama-cpp/answer-meter.ts";
import { setUpLlamafiles } from "./llamafiles/extension.ts";
import { sessionUi } from "./pi-session/session-ui.ts";
import { startupReport } from "./pi-session/startup-report.ts";
import { type ActivitySource, bindWorkingIndicator } from "./pi-session/working-indicator.ts";

/** Whether the user configured anything of the ai-server provider (a stray variable is worth a warning too). */
function aiServerConfigured(): boolean {
  return Object.keys(process.env).some((name) => name.startsWith("AI_SERVER_")) || existsSync(join(getAgentDir(), "ai-server.json"));
}

export default async function piLlamaSupervisor(pi: ExtensionAPI): Promise<void> {
  const session = sessionUi();
  const meter = answerMeter();
  pi.on("session_start", (_event, ctx) => session.attach(ctx));
  pi.on("session_shutdown", () => session.detach());
  const report = startupReport(pi, session);
  const llamafilesActivity = await setUpLlamafiles(pi, session, meter, report);
  // Nothing of the ai-server feature loads unless it is configured: pi's start-up does not pay for it.
  const aiServerActivity: ActivitySource = aiServerConfigured()
    ? await (await import("./ai-server/extension.ts")).setUpAiServer(pi, session, meter, report)
    : () => undefined;
  report.loaded();
  bindWorkingIndicator(pi, [llamafilesActivity, aiServerActivity], meter);
}
