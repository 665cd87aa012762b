/**
 * The `ai-server` feature in pi: settings → TLS material → one session (provider, statechart)
 * per router → the commands, registered once for all. Registers nothing unless a router is
 * configured (src/index.ts loads this file only when an AI_SERVER_* variable or ai-server.json
 * exists). A router without usable certificate material degrades instead of vanishing: its
 * fallback models are registered and fail with the reason, and every command aimed at it says
 * what is missing. The others are not concerned: every router is discovered at once, each within
 * the discovery bound, so one down, slow or misconfigured never delays or hides another's models.
 * pi's hooks are the generic feature's (src/backend/feature.ts).
 */
import { type ExtensionAPI, getAgentDir } from "@earendil-works/pi-coding-agent";
import type { AnswerMeter } from "../llama-cpp/answer-meter.ts";
import type { NoticeLevel } from "../pi-session/notify.ts";
import type { SessionUi } from "../pi-session/session-ui.ts";
import type { StartupReport } from "../pi-session/startup-report.ts";
import type { ActivitySource } from "../pi-session/working-indicator.ts";
import { aiServerTimeouts } from "../timeouts.ts";
import type { SettingsProblem } from "./config.ts";

const idle: ActivitySource = () => undefined;

/** Returns what the routers' supervisors are doing, for the working indicator. */
export async function setUpAiServer(
  pi: ExtensionAPI,
  session: SessionUi,
  meter: AnswerMeter,
  report: StartupReport,
): Promise<ActivitySource> {
  const { loadAiServerSettings } = await import("./config.ts");
  const { servers, warnings, errors } = loadAiServerSettings({ env: process.env, agentDir: getAgentDir() });
  const problems: Array<{ problem: SettingsProblem; level: NoticeLevel }> = [];
  const collect = (found: SettingsProblem[], level: NoticeLevel) => problems.push(...found.map((problem) => ({ problem, level })));
  collect(errors, "error");
  collect(warnings, "warning");
  const words = async () => import("./messages.ts");
  const reportProblems = async () => {
    if (problems.length === 0) return;
    const { settingsProblemText } = await words();
    // Routers sharing a certificate file share its problem: said once.
    const said = new Set<string>();
    for (const { problem, level } of problems) {
      const text = settingsProblemText(problem);
      if (said.has(text)) continue;
      said.add(text);
      report.add({ text, level });
    }
  };
  if (servers.length === 0) {
    await reportProblems();
    return idle;
  }

  // The rest loads only when a router is configured: pi's start-up does not pay for it otherwise.
  const [{ loadTlsMaterial }, { aiServerSession }, { registerAiServerCommands }, { unusableProviderConfig, fallbackModels }, messages] =
    await Promise.all([import("./tls.ts"), import("./session.ts"), import("./commands.ts"), import("./provider.ts"), words()]);
  type Router = import("./command-targets.ts").CommandRouter;
  const routers: Router[] = [];
  /** The other routers pi offers `modelId` on (named when this one cannot be used). */
  const alsoOn = (self: string) => (modelId: string) =>
    routers
      .filter((router) => router.provider !== self && router.remote?.offered().includes(modelId))
      .map((router) => ({ name: router.name, provider: router.provider }));
  for (const settings of servers) {
    const tls = loadTlsMaterial(settings);
    collect(tls.errors, "error");
    collect(tls.warnings, "warning");
    const router = { name: settings.name, provider: settings.provider, settings };
    if (tls.material) {
      // The generic feature (src/backend/feature.ts) registers the hooks.
      const remote = aiServerSession(pi, settings, tls.material, session, meter, alsoOn(settings.provider));
      routers.push({ ...router, remote, unusable: undefined });
    } else {
      routers.push({ ...router, remote: undefined, unusable: tls.errors.map(messages.settingsProblemText).join("\n") });
    }
  }
  await reportProblems();

  // Every router at once, each within the discovery bound; registered in the configured order, so /model lists them the same way every time.
  const registrations = await Promise.all(routers.map((router) => router.remote?.discoverAtStart(aiServerTimeouts.discoveryMs)));
  routers.forEach((router, index) => {
    const register = registrations[index];
    if (register) {
      const discoveryWarning = register();
      if (discoveryWarning) report.add({ text: discoveryWarning, level: "warning" });
      return;
    }
    // Degrade, don't vanish: the fallback models stay listed and fail with the reason; every command says it.
    const fallback = fallbackModels(router.settings.fallbackModels);
    if (fallback.length > 0) pi.registerProvider(router.provider, unusableProviderConfig(router.settings, fallback, router.unusable ?? ""));
  });
  registerAiServerCommands(pi, routers);
  const activities = routers.flatMap((router) => (router.remote ? [router.remote.feature.activity] : []));
  return () => activities.map((activity) => activity()).find(Boolean);
}
