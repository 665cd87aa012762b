/**
 * Every word the ai-server feature says to a user. Failures of the proxy, the router, the
 * certificate files, the settings and ssh arrive here as values with a code; this module alone
 * turns them into sentences that say what failed, with the value, and what to check. The
 * behaviours behind each case: docs/llama-server-behaviour.md.
 */
import type { RouterModelFailure, RouterModelStatus, RouterNotice, RouterRestartFailure } from "../../machines/router-model.machine.ts";
import type { ServerProps } from "../../machines/server-props.ts";
import type { LastAnswer } from "../llama-cpp/answer-meter.ts";
import { type ContextFix, contextText, figuresDetailText, figuresText } from "../llama-cpp/messages.ts";
import type { ServedModel } from "../llama-cpp/model-facts.ts";
import type { NoticeLevel } from "../pi-session/notify.ts";
import type { SettingsProblem } from "./config.ts";
import type { RouterModel } from "./router-api.ts";
import { ROUTER_UNUSABLE, type RouterFailure } from "./router-failures.ts";
import type { ArgumentProblem, SshFailure } from "./ssh-admin.ts";

/** The settings a message names: the URL, the certificate files and where each was set, the timeout, which router. */
export interface SettingsForWords {
  url: string;
  ca: { value: string; source: string };
  clientCert: { value: string; source: string };
  clientKey: { value: string; source: string };
  timeoutMs?: number;
  /** Where the timeout was set (default "AI_SERVER_TIMEOUT_MS"). */
  timeoutSource?: string;
  /** The router's short name, its index in `servers` (undefined: the router of AI_SERVER_URL), and whether other routers are configured. */
  name?: string;
  entry?: number | undefined;
  amongSeveral?: boolean;
}

/** A router as the words name it. */
export type RouterForWords = Pick<SettingsForWords, "name" | "entry" | "amongSeveral">;

export const AI_SERVER_JSON = "~/.pi/agent/ai-server.json";

/** What every message about a router begins with: "ai-server" alone, "ai-server box2" among several. */
export function label(router: RouterForWords): string {
  return router.amongSeveral && router.name ? `ai-server ${router.name}` : "ai-server";
}

/** How a setting of this router is named: its variable for the router of AI_SERVER_URL, its field in the file otherwise. */
function settingName(router: RouterForWords, field: "url" | "sshHost", variable: string): string {
  return router.entry === undefined ? variable : `"${field}" of ${router.name} in ${AI_SERVER_JSON}`;
}

/**
 * A command as the user types it for this router: among several, the router's name follows a
 * command about the router, and prefixes the model of a command about a model.
 */
export function commandFor(router: RouterForWords, command: string, modelId?: string): string {
  const named = router.amongSeveral && router.name;
  if (modelId !== undefined) return `/ai-server-${command} ${named ? `${router.name}/` : ""}${modelId}`;
  return `/ai-server-${command}${named ? ` ${router.name}` : ""}`;
}

/** The pi model ref of `modelId` on another router, to pick it with /model instead. */
export interface OtherRouter {
  name: string;
  provider: string;
}

/** After a failure that says the router cannot be used: which other routers have the model (nothing otherwise). */
export function alsoOnText(modelId: string, failure: RouterFailure | undefined, others: readonly OtherRouter[]): string {
  if (others.length === 0 || !failure || !ROUTER_UNUSABLE[failure.code]) return "";
  const names = others.map((other) => other.name);
  const refs = others.map((other) => `${other.provider}/${modelId}`);
  return ` ${modelId} is also on ${listText(names)}: pick ${listText(refs, "or")} with /model.`;
}

/** "a", "a and b", "a, b and c". */
function listText(items: readonly string[], last = "and"): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} ${last} ${items.at(-1)}`;
}

/** A URL as it may be shown: a user name or password in it is replaced by ***. */
export function shownUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@");
}

export function routerFailureText(failure: RouterFailure, settings: SettingsForWords): string {
  const who = label(settings);
  const urlSetting = settingName(settings, "url", "AI_SERVER_URL");
  const host = new URL(settings.url).host;
  const detail = failure.detail ?? "";
  const checkCert = `Check that it is signed by the CA the proxy trusts and not expired: openssl verify -CAfile <the proxy's CA> ${settings.clientCert.value}; openssl x509 -noout -enddate -in ${settings.clientCert.value}`;
  const model = failure.modelId ? ` ${failure.modelId}` : "";
  const known = failure.knownIds?.length ? ` Known models: ${failure.knownIds.join(", ")}.` : "";
  const action = failure.action ?? "request";
  switch (failure.code) {
    case "tls-client-refused":
      return `${who}: ${host} rejected the client certificate ${settings.clientCert.value} (TLS alert). ${checkCert}`;
    case "closed-before-answer":
      return `${who}: ${host} closed the connection before answering: it most likely refused the client certificate ${settings.clientCert.value}. ${checkCert}`;
    case "tls-untrusted-server":
      return `${who}: the server certificate of ${host} is not signed by the CA in ${settings.ca.value} (${settings.ca.source}). Copy the proxy's root CA there.`;
    case "tls-server-cert-expired":
      return `${who}: the server certificate of ${host} has expired; renew it on the proxy.`;
    case "tls-wrong-name":
      return `${who}: the server certificate of ${host} is not issued for that name. Use the host name in the certificate in ${urlSetting} (now ${shownUrl(settings.url)}).`;
    case "tls-no-site":
      return `${who}: the proxy has no site for the name ${host} (TLS alert "internal error" on SNI). Check the host name in ${urlSetting} (now ${shownUrl(settings.url)}).`;
    case "tls-key-mismatch":
      return `${who}: the client certificate ${settings.clientCert.value} and the key ${settings.clientKey.value} do not belong together.`;
    case "unreachable":
      return `${who}: nothing answers at ${shownUrl(settings.url)} (connection refused). Is the proxy running, and is the port right?`;
    case "unresolvable":
      return `${who}: cannot resolve the host ${new URL(settings.url).hostname} of ${urlSetting} (${shownUrl(settings.url)}).`;
    case "no-answer-in-time":
      return `${who}: no answer from ${shownUrl(settings.url)} in time. Is the host reachable (VPN, firewall)?`;
    case "tls-other":
      return `${who}: TLS with ${host} failed (${detail}). Check ${urlSetting} and the certificate files.`;
    case "transport-other":
      return `${who}: request to ${shownUrl(settings.url)} failed: ${detail}`;
    case "misdirected":
      return `${who}: the proxy refused the host name (HTTP 421 Misdirected Request). Connecting by IP address sends no TLS server name; use the host name of its certificate in ${urlSetting} (now ${shownUrl(settings.url)}).`;
    case "router-down":
      return `${who}: the proxy at ${shownUrl(settings.url)} is up but the llama-server router behind it does not answer (HTTP ${failure.status}). Check the service: systemctl --user status llama-server.service (or ${commandFor(settings, "restart")}).`;
    case "not-found":
      return `${who}: ${action}${model}: the router does not know this model, or it is not in router mode (HTTP 404 "${detail || "File Not Found"}").${known}`;
    case "worker-unreachable":
      return `${who}: ${action}${model}: the router could not reach the model's worker (HTTP ${failure.status} "${detail}"); the worker probably died. Unload and load it again: ${commandFor(settings, "unload", failure.modelId)} then ${commandFor(settings, "load", failure.modelId)}.`;
    case "autoload-off":
      return `${who}: ${action}${model}: the model is not loaded and the router does not autoload. Load it first: ${commandFor(settings, "load", failure.modelId)}.`;
    case "already-loaded":
      return `${who}: ${action}${model}: already loaded.`;
    case "not-loaded":
      return `${who}: ${action}${model}: it is not loaded.`;
    case "unknown-model":
      return `${who}: ${action}${model}: the router does not know this model (HTTP ${failure.status} "${detail}").${known}`;
    case "http-other":
      return `${who}: ${action}${model} failed: HTTP ${failure.status}${detail ? ` "${detail}"` : ""}.`;
    case "not-json":
      return `${who}: GET ${shownUrl(settings.url)}/models did not return JSON: is ${urlSetting} the llama.cpp router?`;
    case "stream-cut":
      return `${who}: the router cut the answer off ("${detail}"): the model was unloaded or evicted by another request, or its worker died. Send the prompt again; see ${commandFor(settings, "status")}.`;
    case "stream-error-event":
      return `${who}: the model failed in the middle of the answer: ${detail}`;
    case "connection-lost":
      return `${who}: the connection to ${host} broke in the middle of the answer (${detail}): the proxy or the router went away. Send the prompt again; see ${commandFor(settings, "status")}.`;
    case "stream-incomplete":
      return `${who}: the router closed the answer before its end (no [DONE]); the text so far is incomplete. Send the prompt again; see ${commandFor(settings, "status")}.`;
    case "request-timeout":
      return `${who}: no ${detail === "during the answer" ? "complete answer" : "answer"} within ${timeoutText(settings)}.`;
  }
}

/** The chat timeout as the words name it: its variable and value, or the value and where it was set. */
function timeoutText(settings: SettingsForWords): string {
  const source = settings.timeoutSource ?? "AI_SERVER_TIMEOUT_MS";
  return source === "AI_SERVER_TIMEOUT_MS" ? `AI_SERVER_TIMEOUT_MS=${settings.timeoutMs} ms` : `${settings.timeoutMs} ms (${source})`;
}

/** The failure value an effect rejected with, if it is one. */
const failureOf = (error: unknown) => {
  const failure = (error as { failure?: RouterFailure } | undefined)?.failure;
  return failure && typeof failure.code === "string" ? failure : undefined;
};

/** Any error a router request or an ssh step rejected with, in words. */
export function errorText(error: unknown, settings: SettingsForWords): string {
  const failure = failureOf(error);
  if (failure) return routerFailureText(failure, settings);
  const ssh = (error as { sshFailure?: SshFailure } | undefined)?.sshFailure;
  if (ssh) return sshFailureText(ssh, settings);
  return (error as Error)?.message ?? String(error);
}

/** Why `modelId` cannot be used; when its router is the trouble, which other routers (`others`) have it. */
export function modelFailureText(
  modelId: string,
  failure: RouterModelFailure,
  settings: SettingsForWords,
  others: readonly OtherRouter[] = [],
): string {
  const who = label(settings);
  const refresh = commandFor(settings, "refresh");
  switch (failure.kind) {
    case "unknown-model":
      return `${who}: the router does not list ${modelId} (any more). Run ${refresh}, then pick a model from ${commandFor(settings, "status")}.`;
    case "load-timeout":
      return `${who}: ${modelId} did not finish loading within ${failure.timeoutMs / 1000} s; pi asked the router to unload it. Check its preset (a section without "model =" never loads) and the router's log (journalctl --user -u llama-server).`;
    case "worker-exited":
      return `${who}: the router's worker for ${modelId} exited while loading (exit code ${failure.exitCode ?? "unknown"}). Check the model path and its preset, and the router's log (journalctl --user -u llama-server).`;
    case "request-failed":
      return errorText(failure.error, settings) + alsoOnText(modelId, failureOf(failure.error), others);
  }
}

/** A notice about one model (a restart's notices are reported by the command that asked for it: restartFailureText). */
export type ModelNotice = Extract<RouterNotice, { modelId: string }>;

export function noticeMessage(
  notice: ModelNotice,
  settings: SettingsForWords,
  others: readonly OtherRouter[] = [],
): { text: string; level: NoticeLevel } {
  const who = label(settings);
  if (isSlotNotice(notice)) return slotNoticeMessage(notice, who);
  switch (notice.kind) {
    case "loaded":
      return { text: `${who}: ${notice.modelId} is loaded`, level: notice.already ? "info" : "success" };
    case "unloaded":
      return { text: `${who}: ${notice.modelId} is unloaded`, level: "info" };
    case "still-unloading":
      return {
        text: `${who}: ${notice.modelId} was still not unloaded after ${notice.timeoutMs / 1000} s; see ${commandFor(settings, "status")}.`,
        level: "warning",
      };
    case "failed":
      return { text: modelFailureText(notice.modelId, notice.failure, settings, others), level: "error" };
  }
}

export function restartFailureText(failure: RouterRestartFailure, settings: SettingsForWords): string {
  switch (failure.kind) {
    case "not-healthy":
      return `${label(settings)}: the router did not answer /health within ${failure.timeoutMs / 1000} s after the restart.`;
    case "request-failed":
      return errorText(failure.error, settings);
  }
}

export function notTheLoadingModelText(modelId: string, now: string | undefined, router: RouterForWords = {}): string {
  return `${label(router)}: ${modelId} is no longer the model pi is loading (now: ${now ?? "none"}).`;
}

/** The footer: what the router does with pi's model; once loaded, the figures of its last answer; the router's name among several. */
export function footerText(
  status: RouterModelStatus,
  loadingSinceMs: number | undefined,
  now: number,
  last?: LastAnswer,
  router: RouterForWords = {},
): string | undefined {
  const text = modelFooterText(status, loadingSinceMs, now, last);
  return text && router.amongSeveral && router.name ? `${text} · ${router.name}` : text;
}

function modelFooterText(
  status: RouterModelStatus,
  loadingSinceMs: number | undefined,
  now: number,
  last?: LastAnswer,
): string | undefined {
  const id = status.modelId;
  if (!id) return undefined;
  switch (status.phase) {
    case "probing":
      return `Checking ${id}…`;
    case "starting":
      return `Loading ${id}… ${Math.floor((now - (loadingSinceMs ?? now)) / 1000)}s`;
    case "ready":
      return last ? `${id} · ${figuresText(last.figures)}${status.restoredAnswer ? " · restored" : ""}` : `${id} loaded`;
    case "stopping":
      return `Unloading ${id}…`;
    case "unreachable":
      return `${id}: router unreachable`;
    default:
      return undefined;
  }
}

/** How a router model's context is changed. */
export function routerContextFix(router: RouterForWords = {}): ContextFix {
  return {
    setContext: (tokens, modelId) => `${commandFor(router, "ctx", modelId)} ${tokens} (it sets ctx-size in the router's preset)`,
    declaredIn: "ai-server.json",
  };
}

/** `/ai-server-status`, below the table: the model pi has on the router, its context, the last answer's figures. */
export function inUseText(
  modelId: string,
  served: ServedModel | undefined,
  props: ServerProps | undefined,
  last: LastAnswer | undefined,
): string {
  const lines = [`pi's model on the router: ${modelId}`];
  if (served) lines[0] += `, ${contextText(served.contextWindow, props)}`;
  if (last) lines.push(`  last answer: ${figuresDetailText(last.figures)}`);
  return lines.join("\n");
}

/** The working indicator's phrase while pi waits for the router (named among several), or undefined. */
export function activityPhrase(
  status: RouterModelStatus | undefined,
  requested: string | undefined,
  router: RouterForWords = {},
): string | undefined {
  const where = router.amongSeveral && router.name ? `on ${router.name}` : "on the router";
  if (!status) return requested ? `checking ${requested} ${where}` : undefined;
  if (status.phase === "probing" || status.phase === "starting") return `loading ${status.modelId} ${where}`;
  if (status.phase === "stopping" && status.modelId) return `unloading ${status.modelId} ${where}`;
  // A router restarting while pi had no model loaded: a prompt waits to load its model once it answers.
  if (status.phase === "stopping" && status.next) return `loading ${status.next} ${where}`;
  return undefined;
}

// ---- settings and certificate files --------------------------------------------------------

const pemName = { ca: "CA certificate", clientCert: "client certificate", clientKey: "client private key" } as const;

export function settingsProblemText(problem: SettingsProblem): string {
  switch (problem.code) {
    case "file-unreadable":
      return `ai-server: cannot read ${problem.path} (${problem.errno}).`;
    case "file-not-json":
      return `ai-server: ${problem.path} is not valid JSON (${problem.detail}).`;
    case "file-invalid":
      return `ai-server: ${problem.problem}.`;
    case "url-not-https":
      return `ai-server: ${problem.source}=${shownUrl(problem.value)} is not an https:// URL (the router is reached over mTLS).`;
    case "url-has-credentials":
      return `ai-server: ${problem.source}=${shownUrl(problem.value)} has a user name or password in it; the client certificate is the only credential, and pi never sends or shows URL credentials. Remove them from the URL.`;
    case "control-characters":
      return `ai-server: ${problem.source} contains control characters; pi does not pass such a value to a path, a URL or ssh.`;
    case "timeout-invalid":
      return `ai-server: AI_SERVER_TIMEOUT_MS=${problem.value} is not a positive whole number of milliseconds; using ${problem.using}.`;
    case "ssh-host-invalid":
      return `ai-server: ${problem.source}=${JSON.stringify(problem.value)} is not a plain ssh target like user@host.`;
    case "preset-path-invalid":
      return `ai-server: AI_SERVER_PRESET_PATH=${JSON.stringify(problem.value)} may only contain letters, digits and _ . ~ / + -.`;
    case "server-skipped":
      return `ai-server: skipped servers[${problem.index}]${problem.name ? ` "${problem.name}"` : ""}: ${problem.problems.join("; ")}. The other routers load.`;
    case "server-name-taken":
      return `ai-server: skipped servers[${problem.index}] "${problem.name}": ${problem.takenBy} has that name already; each router needs its own (it becomes the provider ai-server-<name> and the prefix of <name>/<model>).`;
    case "unused-top-level":
      return `ai-server: ${listText(problem.fields)} at the top of ${AI_SERVER_JSON} belong${problem.fields.length === 1 ? "s" : ""} to the router of "url" (AI_SERVER_URL), and none is set; with "servers", give each server its own "models" and "sshHost".`;
    case "pem-unreadable": {
      const reason =
        problem.errno === "ENOENT"
          ? "the file does not exist"
          : problem.errno === "EACCES"
            ? "permission denied"
            : problem.errno === "EISDIR"
              ? "it is a folder"
              : String(problem.errno);
      return `ai-server: cannot read the ${pemName[problem.which]} ${problem.path} (${reason}); set by ${problem.source}. See README "Client set-up".`;
    }
    case "key-readable-by-others":
      return `ai-server: the private key ${problem.path} is readable by group or others (mode ${problem.mode.toString(8).padStart(4, "0")}); it is the only credential for the router: chmod 600 ${problem.path}`;
    case "pem-mismatch":
      return `ai-server: the client certificate ${problem.cert} and the key ${problem.key} do not belong together (set by ${problem.certSource} and ${problem.keySource}).`;
    case "pem-invalid":
      return `ai-server: the certificate files are not usable PEM (${problem.detail}): ${problem.files.join(", ")}.`;
  }
}

export function discoveryFallbackText(failureText: string, fallbackCount: number, router: RouterForWords = {}): string {
  const refresh = commandFor(router, "refresh");
  return `${failureText}\n${label(router)}: ${fallbackCount > 0 ? `using the ${fallbackCount} fallback model(s) from ${AI_SERVER_JSON}` : "no models registered"}; run ${refresh} once the router is reachable.`;
}

// ---- ssh and command arguments -------------------------------------------------------------

export function sshFailureText(failure: SshFailure, router: RouterForWords = {}): string {
  const who = label(router);
  switch (failure.code) {
    case "ssh-missing":
      return `${who}: the ssh command was not found on PATH (install OpenSSH's client).`;
    case "ssh-failed":
      return `${who}: ssh failed: ${failure.detail}`;
    case "host-invalid":
      return `${who}: ${settingName(router, "sshHost", "AI_SERVER_SSH_HOST")}=${JSON.stringify(failure.host)} is not a plain ssh target like user@host.`;
    case "remote-failed": {
      const hint =
        failure.exitCode === 255
          ? ` (ssh could not log in to ${failure.host}: set up key authentication, e.g. ssh-copy-id ${failure.host}; BatchMode allows no password prompt)`
          : "";
      return `${who}: ${failure.what} over ssh on ${failure.host} failed: ${failure.detail}${hint}`;
    }
  }
}

export function argumentProblemText(problem: ArgumentProblem, router: RouterForWords = {}): string {
  switch (problem.code) {
    case "not-an-id":
      return `${label(router)}: ${JSON.stringify(problem.id)} is not a model id (letters, digits and . _ : + @ - /, not a path).${problem.knownIds.length ? ` Known models: ${problem.knownIds.join(", ")}.` : ""}`;
    case "unknown-id":
      return `${label(router)}: the router has no model "${problem.id}". Known models: ${problem.knownIds.join(", ") || "none"}.`;
    case "bad-size":
      return `${label(router)}: the context size must be a positive whole number of tokens (got ${JSON.stringify(problem.text)}), e.g. 65536.`;
  }
}

// ---- commands -------------------------------------------------------------------------------

/** The model table of /ai-server-status. */
export function statusTable(
  router: RouterForWords & { url: string },
  rows: Array<{ model: RouterModel; ctxSize: number | undefined; placeholder: boolean }>,
): string {
  const cells = rows.map(({ model, ctxSize, placeholder }) => {
    const status = model.status?.value ?? "?";
    const failed = model.status?.failed ? ` (last start failed, exit ${model.status.exit_code ?? "?"})` : "";
    return [model.id, status + failed, ctxSize ? String(ctxSize) : "-", placeholder ? "[no model path]" : ""];
  });
  const header = ["model", "status", "ctx", ""];
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [`${label(router)} ${shownUrl(router.url)}: ${rows.length} model(s)`, line(header), ...cells.map(line)].join("\n");
}

/** What the commands say about one router (named among several). */
export function commandWords(router: RouterForWords = {}) {
  const who = label(router);
  /** A command as the user would type it for this router. */
  const command = (name: string) => commandFor(router, name);
  const sshHostSetting =
    router.entry === undefined
      ? 'AI_SERVER_SSH_HOST (e.g. ai-server@llama-box) or "sshHost" in ~/.pi/agent/ai-server.json'
      : `"sshHost" of ${router.name} in ~/.pi/agent/ai-server.json (e.g. ai-server@llama-box)`;
  return {
    usage: (usage: string) => `usage: ${usage}`,
    needsConfirmation: (what: string) =>
      `${who}: ${what} needs a confirmation, and this mode has no UI to ask in. Run it in pi's TUI (or over RPC).`,
    cancelled: (what: string) => `${who}: ${what} cancelled.`,
    needsSsh: `${who}: this command runs over SSH: set ${sshHostSetting}.`,
    refreshed: (registered: number, added: string[], removed: string[], placeholders: number) =>
      `${who}: ${registered} model(s) registered` +
      (added.length ? `; new: ${added.join(", ")}` : "") +
      (removed.length ? `; gone: ${removed.join(", ")}` : "") +
      (placeholders > 0 ? `; ${placeholders} placeholder(s) without a model path left out` : "") +
      ".",
    loaded: (id: string, seconds: number, ctxSize: number | undefined) =>
      `${who}: ${id} is loaded (${seconds.toFixed(1)} s${ctxSize ? `, ctx ${ctxSize}` : ""}).`,
    unloaded: (id: string) => `${who}: ${id} is unloaded.`,
    ctxQuestion: (id: string, size: number, before: number | undefined, presetPath: string, host: string) => ({
      title: "Change context size",
      message: `Set ctx-size of ${id} to ${size} (now ${before ?? "unset"}) in ${presetPath} on ${host}, then unload and load ${id}?`,
    }),
    ctxEdited: (id: string, previous: number | undefined, size: number, presetPath: string, host: string) =>
      `${who}: ${presetPath} on ${host}: ctx-size of ${id} ${previous ?? "(unset)"} → ${size} (backup: ${presetPath}.bak). Reloading ${id}…`,
    ctxUnchangedAfterReload: (id: string, shown: number | undefined) =>
      `${who}: after unload and load the router still shows ctx ${shown ?? "unknown"} for ${id}: it reads its preset only when it starts.`,
    ctxRestartQuestion: (host: string, size: number) => ({
      title: "Restart the router",
      message: `Restart llama-server.service on ${host} to apply ctx-size ${size}? Every loaded model is unloaded.`,
    }),
    restartQuestion: (host: string) => ({
      title: "Restart the router",
      message: `Run systemctl --user restart llama-server.service on ${host}? Every loaded model is unloaded.`,
    }),
    ctxKeptUntilRestart: (id: string, shown: number | undefined) =>
      `${who}: ${id} keeps ctx ${shown ?? "unknown"} until the router restarts (${command("restart")}).`,
    ctxResult: (id: string, shown: number | undefined, size: number) =>
      `${who}: the router now runs ${id} with ctx ${shown ?? "unknown"}${shown === size ? "." : ` (not ${size}: check the preset with ${command("preset")}).`}`,
    preset: (presetPath: string, host: string, text: string) => `${presetPath} on ${host}:\n${text.trimEnd()}`,
    restartNotWaitedFor: (host: string) =>
      `${who}: stopped waiting for the router on ${host} (Esc); its restart goes on, and /ai-server-status shows when it answers again.`,
    restarted: (seconds: number, registered: number) =>
      `${who}: router restarted and healthy after ${seconds.toFixed(1)} s; ${registered} model(s) registered.`,
    ctxCancelled: (id: string, step: string, edited: boolean, size: number) =>
      `${who}: ${commandFor(router, "ctx", id)} cancelled (Esc) while ${step}` +
      (edited
        ? `; the preset already says ctx-size = ${size} (the router uses it from its next start; ${command("restart")} applies it now).`
        : "; nothing was changed."),
  };
}

/** The ai-server words that are about no router in particular (commands among several routers). */
export const routersText = {
  unknownRouter: (given: string, routers: readonly OtherRouter[]) =>
    `ai-server: no router is named "${given}". Routers: ${routers.map((router) => `${router.name} (${router.provider})`).join(", ")}.`,
  unknownRouterOrModel: (given: string, id: string, routers: readonly OtherRouter[]) =>
    `ai-server: no router is named "${given}", and no router lists a model "${id}". Routers: ${routers.map((router) => `${router.name} (${router.provider})`).join(", ")}.`,
  unknownEverywhere: (id: string, known: readonly string[]) =>
    `ai-server: no router has a model "${id}". Known models: ${known.join(", ") || "none"}.`,
  ambiguous: (command: string, id: string, names: readonly string[]) =>
    `ai-server: ${id} is on ${listText(names)}: say which, e.g. ${listText(
      names.map((name) => `${command} ${name}/${id}`),
      "or",
    )}.`,
  whichRouter: (command: string, names: readonly string[]) =>
    `ai-server: ${command} acts on one router: say which, e.g. ${command} ${names[0]} (routers: ${names.join(", ")}).`,
  chooseModelRouter: (command: string, id: string) => `${command} ${id}: which router?`,
  chooseRouter: (command: string) => `${command}: which router?`,
  cancelled: (command: string) => `ai-server: ${command} cancelled.`,
  /** One router's line of a choice: its name and URL. */
  choice: (router: OtherRouter & { url: string }) => `${router.name} · ${shownUrl(router.url)}`,
};

/** A command waited on the router's statechart, and it ended (pi quits, or an error ended it). */
export function supervisorEndedText(): string {
  return "ai-server: pi stopped following the router (it is quitting, or the router's statechart failed); /reload starts it again.";
}

type SlotNotice = Extract<RouterNotice, { kind: "slot-not-saved" | "slot-save-too-slow" | "slot-not-restored" }>;

const isSlotNotice = (notice: ModelNotice): notice is SlotNotice => notice.kind.startsWith("slot-");

/** The router's saved slots (a router whose models have --slot-save-path): what did not go as it should. */
function slotNoticeMessage(notice: SlotNotice, who: string): { text: string; level: NoticeLevel } {
  switch (notice.kind) {
    case "slot-not-saved": {
      const why =
        notice.outcome.reason === "disk-full"
          ? `the router wrote nothing (${notice.outcome.detail}): the disk of its --slot-save-path folder is probably full`
          : notice.outcome.detail;
      return {
        text: `${who}: could not save this session's prompt cache of ${notice.modelId} on the router (${why}); an earlier save, if any, is kept.`,
        level: "warning",
      };
    }
    case "slot-save-too-slow":
      return {
        text: `${who}: did not save this session's prompt cache of ${notice.modelId}: it took longer than ${notice.limitMs / 1000} s, so pi went on without it.`,
        level: "info",
      };
    case "slot-not-restored":
      return {
        text: `${who}: could not restore this session's prompt cache of ${notice.modelId} (${notice.detail}); the next prompt processes the conversation again.`,
        level: "warning",
      };
  }
}
