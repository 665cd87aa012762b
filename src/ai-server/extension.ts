/**
 * The `ai-server` feature in pi: settings → TLS material → discovery and provider → hooks and
 * commands. Registers nothing unless AI_SERVER_URL (or "url" in ~/.pi/agent/ai-server.json)
 * is set. Hooks only hand pi's events to the session glue.
 */
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import type { NoticeLevel } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { loadAiServerSettings, type SettingsProblem } from "./config.ts";
import { settingsProblemText } from "./messages.ts";

/** Returns what the router-model supervisor is doing, for the working indicator. */
export async function setUpAiServer(pi: ExtensionAPI, session: SessionUi): Promise<ActivitySource> {
  const { settings, warnings, errors } = loadAiServerSettings({ env: process.env, agentDir: getAgentDir() });
  const messages: Array<{ text: string; level: NoticeLevel }> = [];
  const add = (problems: SettingsProblem[], level: NoticeLevel) =>
    messages.push(...problems.map((problem) => ({ text: settingsProblemText(problem), level })));
  add(errors, "error");
  add(warnings, "warning");
  let shown = false;
  pi.on("session_start", () => {
    if (shown) return;
    shown = true;
    for (const { text, level } of messages) session.tell(text, level);
  });
  const idle: ActivitySource = () => undefined;
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

  const { remote, discoveryWarning } = await aiServerSession(pi, settings, tls.material, session);
  if (discoveryWarning) messages.push({ text: discoveryWarning, level: "warning" });
  registerAiServerCommands(pi, remote);

  pi.on("session_start", (_event, ctx) => remote.sessionStarted(ctx.model));
  pi.on("model_select", (event) => remote.modelSelected(event.model));
  pi.on("session_shutdown", () => remote.sessionEnding());
  return remote.activity;
}
