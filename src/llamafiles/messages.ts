/**
 * Every word the llamafiles feature says to a user. The statechart, the effects and the
 * config loader hand over values (`LocalNotice`, `LocalFailure`, `SpawnError`,
 * `ConfigProblem`); this module alone turns them into sentences that say what failed, with
 * the value, and what to do next.
 */

import type { FleetNotice, FleetStatus, RoomProblem, WarmSpec } from "../../machines/local-fleet.machine.ts";
import type {
  CacheProblem,
  LaunchSpec,
  LocalFailure,
  LocalServerStatus,
  ProcessExit,
  SaveOutcome,
  SpawnError,
} from "../../machines/local-server.machine.ts";
import type { Message } from "../backend/contract.ts";
import type { LastAnswer } from "../llama-cpp/answer-meter.ts";
import { type ContextFix, contextText, figuresDetailText, figuresText } from "../llama-cpp/messages.ts";
import type { ServedModel } from "../llama-cpp/model-facts.ts";
import type { NoticeLevel } from "../pi-session/notify.ts";
import { describeSchemaError } from "../pi-session/schema-errors.ts";
import type { ConfigProblem, SchemaViolation } from "./config.ts";
import { STOP_GRACE_MS } from "./process/stop-group.mjs";

export const MODELS_JSON = "~/.pi/agent/models.json";

export type { Message };

export function spawnErrorText(error: SpawnError): string {
  switch (error.code) {
    case "command-not-found":
      return `command "${error.command}" was not found (use an absolute path, or a name on PATH)`;
    case "not-executable":
      return `command "${error.command}" is not executable (chmod +x it)`;
    case "not-runnable":
      return `command "${error.command}" is not a program this system can run (for a llamafile: run it via "sh", see README "APE/binfmt")`;
    case "cwd-missing":
      return `working directory "${error.cwd}" does not exist (check "cwd")`;
    case "cwd-not-a-folder":
      return `working directory "${error.cwd}" is not a folder (check "cwd")`;
    case "log-is-a-link":
      return `its log ${error.path} is a symbolic link, which pi does not follow; remove it (rm ${error.path}) and select the model again`;
    case "unsafe-folder":
      return `pi does not write into ${error.path}: ${error.reason === "not-yours" ? "it belongs to another user" : error.reason === "not-a-folder" ? "it is not a folder (or is a symbolic link)" : "it cannot be created"}`;
    case "keeper-failed":
      return `its keeper (the process that stops the server when pi ends) could not start: ${error.detail}; pi stopped the server`;
    case "other":
      return error.detail;
  }
}

/** The log line written when a server could not be started at all. */
export function couldNotStartLogLine(model: LaunchSpec, error: SpawnError, at = new Date()): string {
  return `--- ${at.toISOString()} Could not start ${model.name}: ${spawnErrorText(error)} ---`;
}

const describeExit = (exit: ProcessExit) =>
  exit.spawnError ? `could not be started: ${spawnErrorText(exit.spawnError)}` : `exited (code=${exit.code}, signal=${exit.signal})`;

const withLog = (model: LaunchSpec, logTail: string) =>
  `Log: ${model.logPath}${logTail.trim() ? `\nLast lines:\n${logTail.trimEnd()}` : ""}`;

const advertisedList = (ids: string[]) => ids.join(", ") || "no model id";
const sessions = (count: number) => `${count} other pi session${count === 1 ? "" : "s"}`;

const TRY_AGAIN = "the next prompt tries again";

export function failureText(model: LaunchSpec, failure: LocalFailure): string {
  const { name, port } = model;
  switch (failure.kind) {
    case "probe-failed":
      return `Could not probe port ${port} for ${name}: ${failure.detail}`;
    case "foreign-server":
      return `Port ${port} is in use by a different server (advertises ${advertisedList(failure.advertised)}); pi did not start it and will not stop it. Free the port (kill $(lsof -t -i:${port})) or give ${name} another "port" in ${MODELS_JSON}; ${TRY_AGAIN}.`;
    case "not-a-llama-server":
      return `Port ${port} is in use, but what answers there is not a llama.cpp server pi can use (${failure.detail}). Free the port (see: lsof -i :${port}) or give ${name} another "port"; ${TRY_AGAIN}.`;
    case "foreign-server-still-loading":
      return `A server pi did not start holds port ${port} and was still loading after ${failure.timeoutMs / 1000} s. Wait for it, or free the port (see: lsof -i :${port}); ${TRY_AGAIN}.`;
    case "adopted-server-lost":
      return `The adopted server for ${name} on port ${port} stopped answering. pi did not start it, so its log is wherever it was started. The next prompt starts ${name} under pi.`;
    case "startup-timeout":
      return `${name} did not answer on http://localhost:${port}/v1/models within ${failure.timeoutMs / 1000} s; pi stopped it. Check that its args make it listen on {{port}} (${port}). ${withLog(model, "")}`;
    case "exited-before-ready":
      return `${name} ${describeExit(failure.exit)} before it was ready. ${withLog(model, failure.exit.logTail)}`;
    case "exited-after-ready":
      return `${name} ${describeExit(failure.exit)} after it was ready; the next prompt starts it again. ${withLog(model, failure.exit.logTail)}`;
    case "cannot-start":
      return `${name} could not be started: ${spawnErrorText(failure.error)}. Log: ${model.logPath}`;
    case "port-taken":
      return `Port ${port} is in use by ${failure.servesId}, which another pi session uses; pi will not stop it. Select ${failure.servesId}, or give ${name} another "port" in ${MODELS_JSON}.`;
    case "port-not-http":
      return `Port ${port} is held by a program that does not answer HTTP (${failure.detail}): not a llama.cpp server, and not one pi started. See who holds it (lsof -i :${port}, or ss -ltnp 'sport = :${port}'), free it or give ${name} another "port"; ${TRY_AGAIN}.`;
  }
}

export function noticeMessage(notice: FleetNotice): Message {
  const notify = (text: string, level: NoticeLevel): Message => ({ text, level, channel: "notify" });
  if (isCacheNotice(notice)) return cacheNoticeMessage(notice);
  if (notice.kind === "no-room") return notify(noRoomText(notice.model, notice.problem), "error");
  if (notice.kind === "made-room") {
    const why = `the least recently used; see keepWarm in ${MODELS_JSON}`;
    return notify(
      notice.otherUsers > 0
        ? `Let go of ${notice.stopped.name} to make room for ${notice.forModel.name} (${why}); it keeps running for ${sessions(notice.otherUsers)}.`
        : `Stopped ${notice.stopped.name} to make room for ${notice.forModel.name} (${why}).`,
      "info",
    );
  }
  if (notice.kind === "record-rejected")
    return {
      text: `llamafiles: ignored ${notice.path}: ${notice.reason}. pi signalled nothing it names and removed the file.`,
      level: "warning",
      channel: "tell",
    };
  if (notice.kind === "left-behind-stopped") {
    const { servers } = notice;
    const names = servers.map((server) => `"${server.name}" (pid ${server.pid}, port ${server.port}${server.forced ? ", forced" : ""})`);
    return {
      text: `llamafiles: stopped ${servers.length === 1 ? "a server" : `${servers.length} servers`} an earlier pi left running with nobody to stop ${servers.length === 1 ? "it" : "them"}: ${names.join(", ")}.`,
      level: "warning",
      channel: "tell",
    };
  }
  const { model } = notice;
  switch (notice.kind) {
    case "reattached":
      return notify(`Re-attached to ${model.name} on port ${model.port} (pid ${notice.pid}, started by pi earlier)`, "info");
    case "joined":
      return notify(
        `Using ${model.name} on port ${model.port} (pid ${notice.pid}), which another pi session started; it stops when the last pi session using it ends.`,
        "info",
      );
    case "left-running":
      return notice.quitting
        ? { text: `Left llamafile "${model.name}" running for ${sessions(notice.users)}.`, level: "info", channel: "stderr" }
        : notify(`${model.name} keeps running for ${sessions(notice.users)}.`, "info");
    case "adopted":
      return notify(`Adopted existing ${model.name} on port ${model.port}`, "info");
    case "ready":
      return notify(`${model.name} is ready`, "success");
    case "advertises-another-id":
      return notify(
        `${model.name} advertises ${notice.advertised.map((id) => `"${id}"`).join(", ") || "no model id"} on /v1/models, not "${model.id}". Chat works, but a server started outside pi is adopted only when the ids match: add --alias ${model.id} to its args (llama-server), or set "id" to what it advertises.`,
        "warning",
      );
    case "failed":
      return notify(failureText(model, notice.failure), "error");
    case "stopping-on-quit":
      return { text: `Stopping llamafile "${model.name}" (pid ${notice.pid ?? "?"})...`, level: "info", channel: "stderr" };
    case "stopped-on-quit":
      return {
        text: notice.forced
          ? `Stopped llamafile "${model.name}" (forced after ${STOP_GRACE_MS / 1000}s).`
          : `Stopped llamafile "${model.name}".`,
        level: "info",
        channel: "stderr",
      };
  }
}

/** 22 GiB, 512 MB: an amount of memory in the unit it reads best in. */
export function memoryText(bytes: number): string {
  const [unit, size] = bytes >= 2 ** 30 ? ["GiB", 2 ** 30] : bytes >= 2 ** 20 ? ["MiB", 2 ** 20] : ["KiB", 2 ** 10];
  const amount = bytes / (size as number);
  return `${Number.isInteger(amount) ? amount : amount.toFixed(1)} ${unit}`;
}

/** No room for `model` among the servers that may run at once: what holds it, and what to change. */
export function noRoomText(model: WarmSpec, problem: RoomProblem): string {
  const names = (ids: string[]) => ids.join(", ");
  switch (problem.kind) {
    case "keep-warm-full":
      return `Cannot start ${model.name}: keepWarm ${problem.keepWarm} allows ${problem.keepWarm} local server${problem.keepWarm === 1 ? "" : "s"} at once, and ${names(problem.held)} ${problem.held.length === 1 ? "is" : "are"} pinned. Unpin one ("pinned" in ${MODELS_JSON}) or raise "keepWarm".`;
    case "over-budget":
      return `Cannot start ${model.name}: it needs ${memoryText(problem.needBytes)}, and ${names(problem.held)} (${memoryText(problem.heldBytes)}) must keep running, which leaves ${memoryText(Math.max(0, problem.budgetBytes - problem.heldBytes))} of the ${memoryText(problem.budgetBytes)} "memoryBudget". Unpin one, raise "memoryBudget", or lower the model's "memory" estimate in ${MODELS_JSON}.`;
    case "port-held":
      return `Cannot start ${model.name}: its port ${problem.port} is held by ${problem.heldBy}, which is pinned. Give ${model.name} another "port" in ${MODELS_JSON}, or unpin ${problem.heldBy}.`;
    case "larger-than-budget":
      return `Cannot start ${model.name}: its "memory" estimate (${memoryText(problem.needBytes)}) is larger than the whole "memoryBudget" (${memoryText(problem.budgetBytes)}) in ${MODELS_JSON}.`;
  }
}

/** Why a prompt for `model` cannot wait for it (the supervisor is not bringing it up). */
export type NotServing =
  | { kind: "shutting-down" }
  | { kind: "another-model-selected"; selected: LaunchSpec }
  | { kind: "not-running" }
  | { kind: "not-configured"; modelId: string };

export function notServingText(model: { id: string; name: string }, reason: NotServing): string {
  switch (reason.kind) {
    case "shutting-down":
      return `llamafiles: pi is shutting down; ${model.name} will not start.`;
    case "another-model-selected":
      return `llamafiles: ${model.name} is not the selected local model (${reason.selected.name} is). Select ${model.name} with /model.`;
    case "not-running":
      return `llamafiles: ${model.name} is not running. Select it with /model.`;
    case "not-configured":
      return `llamafiles: model "${reason.modelId}" is not usable: it is missing or was skipped in providers.llamafiles of ${MODELS_JSON} (see the warning at start-up); fix it, then /reload.`;
  }
}

export function unknownModelSelectedText(modelId: string): string {
  return `llamafiles: no usable model "${modelId}" in providers.llamafiles of ${MODELS_JSON} (missing, or skipped: see the start-up warning).`;
}

/**
 * The footer: what the current model's server does (once ready, the figures of its last
 * answer if it gave one), and how many other servers are warm.
 */
export function footerText(fleet: FleetStatus, last?: LastAnswer): string | undefined {
  const status = fleet.shown;
  const restored = fleet.servers.some((entry) => entry.model.id === status.model?.id && entry.restoredAnswer);
  const shown = status.model ? serverText(status, status.model, last, restored) : status.rested && restedText(status.rested);
  const warm = fleet.servers.filter((entry) => !entry.current && entry.model.id !== status.model?.id && isWarm(entry.status)).length;
  if (warm === 0) return shown;
  // Another provider's model in use: the local servers kept warm for a switch back.
  return shown ? `${shown} · ${warm} warm` : `${warm} local server${warm === 1 ? "" : "s"} warm`;
}

const isWarm = (status: LocalServerStatus) => status.phase === "ready" || status.phase === "starting";

function serverText(status: LocalServerStatus, model: LaunchSpec, last: LastAnswer | undefined, restored = false): string | undefined {
  switch (status.phase) {
    case "starting":
      return `Starting ${model.name}...`;
    case "ready":
      return last ? `${model.name} · ${figuresText(last.figures)}${restored ? " · restored" : ""}` : `${model.name} running`;
    case "stopping":
      return `Stopping ${model.name}...`;
    default:
      return undefined;
  }
}

/**
 * `/llamafiles`: every server this pi runs or uses, the current one first, one line each; once
 * ready, its context and the figures of its last answer.
 */
export function llamafilesReport(
  fleet: FleetStatus | undefined,
  served: (id: string) => ServedModel | undefined,
  last: (id: string) => LastAnswer | undefined,
  now = Date.now(),
): string {
  const running = (fleet?.servers ?? []).filter(
    (entry) => entry.status.model && entry.status.phase !== "idle" && entry.status.phase !== "ended",
  );
  if (running.length === 0) return "No llamafile server is running";
  const several = running.length > 1;
  return running
    .sort((a, b) => Number(b.current) - Number(a.current) || b.lastUsed - a.lastUsed)
    .map((entry) => {
      const { status, model } = entry;
      const notes = [
        ...(several && entry.current ? ["current"] : []),
        ...(model.pinned ? ["pinned"] : []),
        ...(model.memoryBytes !== undefined ? [`memory ${memoryText(model.memoryBytes)}`] : []),
        ...(several && !entry.current && entry.lastUsedAt !== undefined ? [`last used ${agoText(now - entry.lastUsedAt)}`] : []),
      ];
      const lines = [runningLine(status, model, notes)];
      const servedModel = served(model.id);
      const lastAnswer = last(model.id);
      if (status.phase === "ready" && servedModel) lines.push(`  ${contextText(servedModel.contextWindow, status.props)}`);
      if (status.phase === "ready" && lastAnswer) lines.push(`  last answer: ${figuresDetailText(lastAnswer.figures)}`);
      return lines.join("\n");
    })
    .join("\n");
}

const agoText = (ms: number) => (ms < 60_000 ? `${Math.max(0, Math.round(ms / 1000))} s ago` : `${Math.round(ms / 60_000)} min ago`);

/** How a local model's context is changed. */
export const localContextFix: ContextFix = {
  setContext: (tokens) => `add "-c", "${tokens}" to its "args" in models.json`,
  declaredIn: "models.json",
};

function runningLine(status: LocalServerStatus, model: LaunchSpec, notes: string[]): string {
  const pid = status.adopted ? "adopted" : (status.pid ?? "pending");
  const shared = status.users > 1 ? `, shared with ${sessions(status.users - 1)}` : "";
  const more = notes.map((note) => `, ${note}`).join("");
  return `Running: ${model.name} (id=${model.id}, port=${model.port}, pid=${pid}, status=${status.phase}${shared}${more})`;
}

/** The working indicator's phrase while pi waits for a local server, or undefined. */
export function activityPhrase(fleet: FleetStatus | undefined, requested: LaunchSpec | undefined): string | undefined {
  const status = fleet?.shown;
  if (!status) return requested ? `waiting for ${requested.name} to start on port ${requested.port}` : undefined;
  if (!status.model) return undefined;
  if (status.phase === "starting") return `waiting for ${status.model.name} to start on port ${status.model.port}`;
  if (status.phase === "stopping") return `stopping ${status.model.name}`;
  return undefined;
}

const nothingRegistered = "no local models registered";

const violationText = (violation: SchemaViolation) => describeSchemaError(violation.block, violation.error, "providers.llamafiles");

/** `models[3] "qwen-7b"`: the id too, when the entry has one (quoted and cut short: it is the user's text). */
const entryText = (index: number, id: string | undefined) =>
  `models[${index}]${id === undefined ? "" : ` ${JSON.stringify(id.length > 60 ? `${id.slice(0, 59)}…` : id)}`}`;

export function configProblemText(problem: ConfigProblem): string {
  switch (problem.code) {
    case "file-missing":
      return `llamafiles: ${problem.path} does not exist; ${nothingRegistered}. Add providers.llamafiles.models there (see README).`;
    case "file-unreadable":
      return `llamafiles: cannot read ${problem.path} (${problem.errno}); ${nothingRegistered}.`;
    case "not-json":
      return `llamafiles: ${problem.path} is not valid JSON (${problem.detail}); ${nothingRegistered}.`;
    case "no-block":
      return `llamafiles: ${MODELS_JSON} has no providers.llamafiles block; ${nothingRegistered}.`;
    case "block-not-object":
      return `llamafiles: providers.llamafiles in ${MODELS_JSON} must be an object (got ${JSON.stringify(problem.got)}); ${nothingRegistered}.`;
    case "models-missing":
      return `llamafiles: providers.llamafiles.models in ${MODELS_JSON} is missing; ${nothingRegistered}.`;
    case "models-not-a-list":
      return `llamafiles: providers.llamafiles.models in ${MODELS_JSON} is not a non-empty array (got ${JSON.stringify(problem.got)}); ${nothingRegistered}.`;
    case "bad-provider-field":
      return `llamafiles: ${violationText(problem.violation) ?? "invalid"}; using the default.`;
    case "model-skipped":
      return `llamafiles: skipped ${entryText(problem.index, problem.id)}: ${problem.violations.map(violationText).filter(Boolean).join("; ")}.`;
    case "bad-port":
      return `llamafiles: skipped ${entryText(problem.index, problem.id)}: port ${problem.port} is one that fetch refuses to connect to (a "bad port"), so pi could never reach a server there; give it another "port", e.g. 8081.`;
    case "privileged-port":
      return `llamafiles: skipped ${entryText(problem.index, problem.id)}: port ${problem.port} needs root to listen on (this system lets users listen from port ${problem.lowest} up); give it a "port" of ${Math.max(problem.lowest, 1024)} or above.`;
    case "duplicate-id":
      return `llamafiles: duplicate model id "${problem.id}" at providers.llamafiles.models[${problem.index}]; kept the first, ignored this one.`;
    case "no-valid-model":
      return `llamafiles: no valid model in providers.llamafiles.models of ${MODELS_JSON}; ${nothingRegistered}.`;
    case "fields-pi-needs": {
      const lines = problem.missing.map(
        (field) => `  "${field}": "${field === "api" ? "openai-completions" : "http://localhost:8080/v1"}",`,
      );
      return [
        `llamafiles: providers.llamafiles in ${MODELS_JSON} has no ${problem.missing.map((f) => `"${f}"`).join(" and ")}.`,
        `Your models work, but pi ${problem.piVersion} (before 0.99.2) may then not restore a preselected llamafiles model at start-up, nor list the models in pi --list-models. Update pi, or add ${lines.length === 1 ? "this line" : "these lines"} to providers.llamafiles:`,
        ...lines,
      ].join("\n");
    }
  }
}

const minutesText = (ms: number) => {
  const minutes = ms / 60_000;
  return minutes >= 1 && Number.isInteger(Math.round(minutes * 10) / 10) ? `${Math.round(minutes)} min` : `${Math.round(ms / 1000)} s`;
};

/** The footer of a model whose server stopped for idleness. */
export function restedText(rested: { model: LaunchSpec; idleMs: number }): string {
  return `${rested.model.name} stopped after ${minutesText(rested.idleMs)} idle · the next prompt starts it`;
}

const CACHE_DIR = "~/.pi/llamafile_cache";

function cacheProblemText(model: LaunchSpec, problem: CacheProblem): string {
  switch (problem.kind) {
    case "cannot-save":
      return problem.status === 404
        ? `${model.name} cannot save its prompt cache (HTTP 404: it has no /slots endpoint, as llamafiles do): pi stops it as before, and a new start processes the conversation again. Remove {{promptCacheDir}} from its "args", or set "promptCache": false for it in ${MODELS_JSON}.`
        : `${model.name} cannot save its prompt cache (HTTP ${problem.status}: it runs without --slot-save-path): pi stops it as before, and a new start processes the conversation again. Check its "args" in ${MODELS_JSON} ("--slot-save-path", "{{promptCacheDir}}").`;
    case "no-free-slot":
      return `${model.name}: its ${problem.slots} slot${problem.slots === 1 ? " is" : "s are"} held by other pi sessions, so this session's prompt cache is not kept on it (it still answers). More slots: "-np" in its "args".`;
    case "restore-failed":
      return `${model.name}: could not restore this session's saved prompt cache (${problem.detail}); the next prompt processes the conversation again.`;
    case "unsafe-folder":
      return `${model.name}: pi keeps no prompt cache in ${problem.path}: it is not a folder of yours (a symbolic link, or another user's). Remove it, and select the model again.`;
  }
}

function notSavedText(model: LaunchSpec, outcome: Extract<SaveOutcome, { kind: "failed" }>): string {
  const stopped = `pi stopped ${model.name} as usual; an earlier save of this conversation, if any, is kept`;
  switch (outcome.reason) {
    case "disk-full":
      return `Could not save ${model.name}'s prompt cache: the server wrote nothing (${outcome.detail}), which means the disk of ${CACHE_DIR} is full. ${stopped}. Free space, or lower "promptCacheBudget" in ${MODELS_JSON}.`;
    case "cannot-save":
      return `Could not save ${model.name}'s prompt cache: the server cannot save slots (${outcome.detail}). ${stopped}.`;
    case "over-budget":
      return `${model.name}'s prompt cache (${outcome.detail}) is larger than "promptCacheBudget" alone, so pi did not keep it. Raise "promptCacheBudget" in ${MODELS_JSON}.`;
    case "bad-answer":
    case "bad-file":
      return `Could not save ${model.name}'s prompt cache (${outcome.detail}). ${stopped}.`;
  }
}

type CacheNotice = Extract<FleetNotice, { kind: "cache-problem" | "cache-not-saved" | "cache-save-too-slow" | "cache-restore-too-slow" }>;

const isCacheNotice = (notice: FleetNotice): notice is CacheNotice => notice.kind.startsWith("cache-");

/** The prompt cache's notices. */
function cacheNoticeMessage(notice: CacheNotice): Message {
  // While pi quits its UI is gone: what went wrong with the last save is said on stderr.
  const channel = (quitting: boolean) => (quitting ? ("stderr" as const) : ("notify" as const));
  switch (notice.kind) {
    case "cache-problem":
      return {
        text: cacheProblemText(notice.model, notice.problem),
        level: notice.problem.kind === "no-free-slot" ? "info" : "warning",
        channel: "notify",
      };
    case "cache-not-saved":
      return { text: notSavedText(notice.model, notice.outcome), level: "warning", channel: channel(notice.quitting) };
    case "cache-save-too-slow":
      return {
        text: `Did not save ${notice.model.name}'s prompt cache: saving took longer than ${notice.limitMs / 1000} s, so pi stopped it without (a switch stays quick). The next start processes the conversation again.`,
        level: "info",
        channel: channel(notice.quitting),
      };
    case "cache-restore-too-slow":
      return {
        text: `${notice.model.name} answers without this session's saved prompt cache: restoring it took longer than ${notice.limitMs / 1000} s.`,
        level: "info",
        channel: "notify",
      };
  }
}

const ageText = (ms: number) =>
  ms < 60_000
    ? `${Math.max(0, Math.round(ms / 1000))} s`
    : ms < 3_600_000
      ? `${Math.round(ms / 60_000)} min`
      : ms < 86_400_000
        ? `${Math.round(ms / 3_600_000)} h`
        : `${Math.round(ms / 86_400_000)} days`;

/** A saved prompt cache, as /llamafiles lists it. */
export interface SavedCacheLine {
  modelId: string;
  bytes: number;
  tokens: number;
  savedAt: number;
  /** It is the conversation of the session pi runs now. */
  thisSession: boolean;
}

/** /llamafiles: the servers stopped for idleness, then every saved prompt cache (model, size, age). */
export function promptCacheReport(fleet: FleetStatus | undefined, caches: SavedCacheLine[], budgetBytes: number, now = Date.now()): string {
  const lines = (fleet?.servers ?? []).flatMap((entry) =>
    entry.status.phase === "idle" && entry.status.rested ? [`Stopped: ${restedText(entry.status.rested)}`] : [],
  );
  if (caches.length === 0) return lines.join("\n");
  const total = caches.reduce((sum, cache) => sum + cache.bytes, 0);
  lines.push(`Saved prompt caches (${CACHE_DIR}, ${memoryText(total)} of the ${memoryText(budgetBytes)} "promptCacheBudget"):`);
  for (const cache of [...caches].sort((a, b) => b.savedAt - a.savedAt))
    lines.push(
      `  ${cache.modelId}: ${memoryText(cache.bytes)}, ${cache.tokens.toLocaleString("en-US")} tokens, saved ${ageText(now - cache.savedAt)} ago${cache.thisSession ? " (this session)" : ""}`,
    );
  return lines.join("\n");
}
