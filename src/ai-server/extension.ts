/**
 * The `ai-server` feature in pi: settings → TLS material → discovery and provider → hooks and
 * commands. Registers nothing unless AI_SERVER_URL (or "url" in ~/.pi/agent/ai-server.json)
 * is set (src/index.ts loads this file only when an AI_SERVER_* variable or ai-server.json
 * exists). Hooks only hand pi's events to the session glue.
 */
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { NoticeLevel } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import type { SettingsProblem } from "./config.ts";

const idle: ActivitySource = () => undefined;

/** Returns what the router-model supervisor is doing, for the working indicator. */
export async function setUpAiServer(pi: ExtensionAPI, session: SessionUi, meter: AnswerMeter): Promise<ActivitySource> {
  const agentDir = getAgentDir();
  const { loadAiServerSettings } = await import("./config.ts");
  const { settings, warnings, errors } = loadAiServerSettings({ env: process.env, agentDir });
  const problems: Array<{ problem: SettingsProblem; level: NoticeLevel }> = [];
  const texts: Array<{ text: string; level: NoticeLevel }> = [];
  const add = (found: SettingsProblem[], level: NoticeLevel) => problems.push(...found.map((problem) => ({ problem, level })));
  add(errors, "error");
  add(warnings, "warning");
  let shown = false;
  pi.on("session_start", async () => {
    if (shown || problems.length + texts.length === 0) return;
    shown = true;
    const { settingsProblemText } = await import("./messages.ts");
    for (const { problem, level } of problems) session.tell(settingsProblemText(problem), level);
    for (const { text, level } of texts) session.tell(text, level);
  });
  if (!settings) return idle;

  // The rest loads only when the provider is configured: pi's start-up does not pay for it otherwise.
  const [{ loadTlsMaterial }, { aiServerSession }, { registerAiServerCommands }] = await Promise.all([
    import("./tls.ts"),
    import("./session.ts"),
    import("./commands.ts"),
  ]);
  const tls = loadTlsMaterial(settings);
  add(tls.errors, "error");
  add(tls.warnings, "warning");
  if (!tls.material) return idle;

  const { remote, discoveryWarning } = await aiServerSession(pi, settings, tls.material, session, meter);
  if (discoveryWarning) texts.push({ text: discoveryWarning, level: "warning" });
  registerAiServerCommands(pi, remote);

  pi.on("session_start", (_event, ctx) => remote.sessionStarted(ctx.model));
  pi.on("model_select", (event) => remote.modelSelected(event.model));
  pi.on("session_shutdown", () => remote.sessionEnding());
  return remote.activity;
}
