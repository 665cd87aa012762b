/**
 * The `ai-server` feature in pi: settings → TLS material → discovery and provider → hooks and
 * commands. Registers nothing unless AI_SERVER_URL (or "url" in ~/.pi/agent/ai-server.json)
 * is set (src/index.ts loads this file only when an AI_SERVER_* variable or ai-server.json
 * exists). Without usable certificate material it degrades instead of vanishing: the fallback
 * models are registered and fail with the reason, and every command says what is missing.
 * pi's hooks are the generic feature's (src/backend/feature.ts).
 */
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { NoticeLevel } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { StartupReport } from "../pi-session/startup-report.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import type { SettingsProblem } from "./config.ts";

const idle: ActivitySource = () => undefined;

/** The name pi lists the router's models under, and their footer entry: the one place it is spelled. */
const AI_SERVER_PROVIDER = "ai-server";

/** Returns what the router-model supervisor is doing, for the working indicator. */
export async function setUpAiServer(
  pi: ExtensionAPI,
  session: SessionUi,
  meter: AnswerMeter,
  report: StartupReport,
): Promise<ActivitySource> {
  const { loadAiServerSettings } = await import("./config.ts");
  const { settings, warnings, errors } = loadAiServerSettings({ env: process.env, agentDir: getAgentDir() });
  const problems: Array<{ problem: SettingsProblem; level: NoticeLevel }> = [];
  const collect = (found: SettingsProblem[], level: NoticeLevel) => problems.push(...found.map((problem) => ({ problem, level })));
  collect(errors, "error");
  collect(warnings, "warning");
  const words = async () => import("./messages.ts");
  const reportProblems = async () => {
    if (problems.length === 0) return;
    const { settingsProblemText } = await words();
    report.add(...problems.map(({ problem, level }) => ({ text: settingsProblemText(problem), level })));
  };
  if (!settings) {
    await reportProblems();
    return idle;
  }

  // The rest loads only when the provider is configured: pi's start-up does not pay for it otherwise.
  const [
    { loadTlsMaterial },
    { aiServerSession },
    { registerAiServerCommands, registerCommandsSayingWhy },
    { unusableProviderConfig, fallbackModels },
  ] = await Promise.all([import("./tls.ts"), import("./session.ts"), import("./commands.ts"), import("./provider.ts")]);
  const tls = loadTlsMaterial(settings);
  collect(tls.errors, "error");
  collect(tls.warnings, "warning");
  await reportProblems();
  if (!tls.material) {
    // Degrade, don't vanish: the fallback models stay listed and fail with the reason; every command says it.
    const { settingsProblemText } = await words();
    const reason = tls.errors.map(settingsProblemText).join("\n");
    const fallback = fallbackModels(settings.fallbackModels);
    if (fallback.length > 0) pi.registerProvider(AI_SERVER_PROVIDER, unusableProviderConfig(settings, fallback, reason));
    registerCommandsSayingWhy(pi, reason);
    return idle;
  }

  // The generic feature (src/backend/feature.ts) registers the hooks.
  const { remote, discoveryWarning } = await aiServerSession(pi, AI_SERVER_PROVIDER, settings, tls.material, session, meter);
  if (discoveryWarning) report.add({ text: discoveryWarning, level: "warning" });
  registerAiServerCommands(pi, remote);
  return remote.feature.activity;
}
