/**
 * pi-llama-supervisor: self-hosted llama.cpp models in pi.
 *   llamafiles — local servers pi starts, adopts and stops (src/llamafiles, machines/local-server.machine.ts)
 *   ai-server  — a remote llama.cpp router behind an mTLS proxy (src/ai-server, machines/router-model.machine.ts)
 * what their servers report (src/llama-cpp: context, capabilities, each answer's figures),
 * and pi's working indicator, saying which of them pi is waiting for (src/pi-session/working-indicator.ts).
 */
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";
import { setUpAiServer } from "./ai-server/extension.ts";
import { answerMeter } from "./llama-cpp/answer-meter.ts";
import { setUpLlamafiles } from "./llamafiles/extension.ts";
import { sessionUi } from "./pi-session/session-ui.ts";
import { bindWorkingIndicator } from "./pi-session/working-indicator.ts";

export default async function piLlamaSupervisor(pi: ExtensionAPI): Promise<void> {
  const session = sessionUi();
  const meter = answerMeter();
  pi.on("session_start", (_event, ctx) => session.attach(ctx));
  pi.on("session_shutdown", () => session.detach());
  const llamafilesActivity = setUpLlamafiles(pi, session, meter);
  const aiServerActivity = await setUpAiServer(pi, session, meter);
  bindWorkingIndicator(pi, [llamafilesActivity, aiServerActivity], meter);
}
