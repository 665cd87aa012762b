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
import { describeSchemaError } from "../util/schema-errors.ts";
import { shellWord } from "../util/shell-word.ts";
import type { ConfigProblem, SchemaViolation } from "./config.ts";
import type { DiscoveryProblem, SkippedFile, SkipReason } from "./discovery/discover.ts";
import type { ReservedFor, ServerArgsProblem } from "./discovery/launch-args.ts";
import type { MemoryEstimate } from "./discovery/memory-estimate.ts";
import type { PortRange } from "./discovery/ports.ts";
import type { DiscoveryOutcome } from "./discovery-run.ts";
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
      return `its log ${error.path} is a symbolic link, which pi does not follow; remove it (rm ${shellWord(error.path)}) and select the model again`;
    case "unsafe-folder":
      return error.reason === "not-yours"
        ? `pi does not write into ${error.path}: it belongs to another user; move it away and select the model again`
        : error.reason === "not-a-folder"
          ? `pi does not write into ${error.path}: it is not a folder (or is a symbolic link, which pi does not follow); move it away (mv ${shellWord(error.path)} ${shellWord(`${error.path}.old`)}) and select the model again`
          : `pi does not write into ${error.path}: it cannot be created; check the rights on the folder above it and select the model again`;
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

/** A model pi found on disk (its settings live under "discovered" › its id), or one the user declared. */
const isDiscovered = (model: LaunchSpec) => "discovered" in model && model.discovered !== undefined;

/** Where to give a model another port: in its models.json entry, or under "discovered" for a found one. */
const anotherPort = (model: LaunchSpec) =>
  isDiscovered(model) ? `another "port" under "discovered" › "${model.id}" in ${MODELS_JSON}` : `another "port" in ${MODELS_JSON}`;

/** How to make a model's estimate smaller: its "memory" in models.json, or a smaller context for a found one. */
const smallerEstimate = (model: LaunchSpec) =>
  isDiscovered(model)
    ? `give it a smaller context ("-c" in its "serverArgs" under "discovered" › "${model.id}" in ${MODELS_JSON}: the estimate follows it)`
    : `lower the model's "memory" estimate in ${MODELS_JSON}`;

export function failureText(model: LaunchSpec, failure: LocalFailure): string {
  const { name, port } = model;
  switch (failure.kind) {
    case "probe-failed":
      return `Could not probe port ${port} for ${name}: ${failure.detail}`;
    case "foreign-server":
      return `Port ${port} is in use by a different server (advertises ${advertisedList(failure.advertised)}); pi did not start it and will not stop it. Free the port (kill $(lsof -t -i:${port})) or give ${name} ${anotherPort(model)}; ${TRY_AGAIN}.`;
    case "not-a-llama-server":
      return `Port ${port} is in use, but what answers there is not a llama.cpp server pi can use (${failure.detail}). Free the port (see: lsof -i :${port}) or give ${name} ${anotherPort(model)}; ${TRY_AGAIN}.`;
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
      return `Port ${port} is in use by ${failure.servesId}, which another pi session uses; pi will not stop it. Select ${failure.servesId}, or give ${name} ${anotherPort(model)}.`;
    case "port-not-http":
      return `Port ${port} is held by a program that does not answer HTTP (${failure.detail}): not a llama.cpp server, and not one pi started. See who holds it (lsof -i :${port}, or ss -ltnp 'sport = :${port}'), free it or give ${name} ${anotherPort(model)}; ${TRY_AGAIN}.`;
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
      return `Cannot start ${model.name}: it needs ${memoryText(problem.needBytes)}, and ${names(problem.held)} (${memoryText(problem.heldBytes)}) must keep running, which leaves ${memoryText(Math.max(0, problem.budgetBytes - problem.heldBytes))} of the ${memoryText(problem.budgetBytes)} "memoryBudget". Unpin one, raise "memoryBudget", or ${smallerEstimate(model)}.`;
    case "port-held":
      return `Cannot start ${model.name}: its port ${problem.port} is held by ${problem.heldBy}, which is pinned. Give ${model.name} ${anotherPort(model)}, or unpin ${problem.heldBy}.`;
    case "larger-than-budget":
      return `Cannot start ${model.name}: its "memory" estimate (${memoryText(problem.needBytes)}) is larger than the whole "memoryBudget" (${memoryText(problem.budgetBytes)}) in ${MODELS_JSON}${isDiscovered(model) ? `; ${smallerEstimate(model)}` : ""}.`;
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
      return `llamafiles: model "${reason.modelId}" is not usable: it is missing or was skipped in providers.llamafiles of ${MODELS_JSON} (see the warning at start-up; fix it, then /reload), or its file is not in a model folder pi scanned (put it there, then /llamafiles scan).`;
  }
}

/** pi quit without waiting longer for servers that would not stop (stderr: the TUI is gone). */
export function quitWithoutWaitingText(stillStopping: string[], waitedMs: number): string {
  const names = stillStopping.map((name) => `"${name}"`).join(", ") || "a local server";
  return `Did not wait longer than ${waitedMs / 1000} s for llamafile ${names} to stop: it does not end even after SIGKILL (stuck in the kernel, e.g. a GPU driver). Its keeper goes on waiting for it; see ps -o pid,stat,cmd -g <its pid>.`;
}

export function unknownModelSelectedText(modelId: string): string {
  return `llamafiles: no usable model "${modelId}": not in providers.llamafiles of ${MODELS_JSON} (missing, or skipped: see the start-up warning), and not found in the model folders (a file added since pi started: /llamafiles scan).`;
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
 * ready, its context, its memory (`memoryLine`: the estimate beside what its processes hold) and
 * the figures of its last answer.
 */
export function llamafilesReport(
  fleet: FleetStatus | undefined,
  served: (id: string) => ServedModel | undefined,
  last: (id: string) => LastAnswer | undefined,
  now = Date.now(),
  memory: (model: WarmSpec) => string | undefined = () => undefined,
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
      const memoryNow = status.phase === "ready" ? memory(model) : undefined;
      if (memoryNow) lines.push(memoryNow);
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
/** A models.json pi cannot use declares nothing; discovery still offers what it finds. */
const noneDeclared = "no model declared there is registered (discovered models still are)";

const violationText = (violation: SchemaViolation) => describeSchemaError(violation.block, violation.error, "providers.llamafiles");

/** `models[3] "qwen-7b"`: the id too, when the entry has one (quoted and cut short: it is the user's text). */
const shortId = (id: string) => (id.length > 60 ? `${id.slice(0, 59)}…` : id);
const entryText = (index: number, id: string | undefined) => `models[${index}]${id === undefined ? "" : ` ${JSON.stringify(shortId(id))}`}`;

export function configProblemText(problem: ConfigProblem): string {
  switch (problem.code) {
    case "file-unreadable":
      return `llamafiles: cannot read ${problem.path} (${problem.errno}); ${noneDeclared}.`;
    case "not-json":
      return `llamafiles: ${problem.path} is not valid JSON (${problem.detail}); ${noneDeclared}.`;
    case "block-not-object":
      return `llamafiles: providers.llamafiles in ${MODELS_JSON} must be an object (got ${JSON.stringify(problem.got)}); ${noneDeclared}.`;
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
    case "discovered-skipped": {
      const id = JSON.stringify(shortId(problem.id));
      const words = problem.violations.map(violationText).filter(Boolean);
      return words.length > 0
        ? `llamafiles: ignored the settings of discovered model ${id}: ${words.join("; ")}; it runs with discovery's defaults.`
        : `llamafiles: ignored ${id} under providers.llamafiles.discovered: not a model id (blank, or longer than 200 characters).`;
    }
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
    case "block-pi-refuses":
      return `llamafiles: pi refuses providers.llamafiles in ${MODELS_JSON} without "models" unless it has a "baseUrl"; ${nothingRegistered}. Add "api": "openai-completions" and "baseUrl": "http://localhost:8080/v1" to the block (README, "Discovered models").`;
    case "registration-failed":
      return `llamafiles: pi refused the local models: ${problem.detail}; ${nothingRegistered}. Check providers.llamafiles in ${MODELS_JSON}.`;
  }
}

// ——— discovery: the start-up line, /llamafiles and /llamafiles scan ———

/**
 * Where discovered models' ports come from, "14200-14999": from the problem's value, not an import
 * of discovery/ports.ts, so that loading these words loads no discovery module (the working
 * indicator's first frame waits for them).
 */
const rangeText = (range: PortRange) => `${range.first}-${range.last}`;

/** `/home/me/models/x.gguf` → `~/models/x.gguf`: shorter, and what the user typed. */
export function homeShort(path: string, home: string): string {
  return path === home ? "~" : path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
const sizeText = (bytes: number) => (bytes < 2 ** 20 ? `${bytes.toLocaleString("en-US")} bytes` : memoryText(bytes));

/** Files that are not models by design (the later files of a split, a projector that found its model, …): listed, never warned about. */
const EXPECTED_SKIPS = new Set(["later-shard", "projector", "configured", "duplicate", "folder-seen", "vocab-only", "not-a-model"]);

/** The skipped files worth the user's attention: a model that cannot be offered, or a folder that cannot be searched. */
export function noteworthySkips(skipped: SkippedFile[]): SkippedFile[] {
  return skipped.filter((file) => !EXPECTED_SKIPS.has(file.reason.code));
}

/** Why pi keeps a flag of a discovered model's server to itself (launch-args.ts, RESERVED_FLAGS). */
const RESERVED_WHY: Record<ReservedFor, string> = {
  address: `it finds the server at 127.0.0.1 and the port it chose; "port" under "discovered" › the model's id chooses another`,
  id: "the server must advertise the model's id, or pi does not recognise its own server",
  model: "the model is the file discovery found; to run another, declare it in models.json",
  projector: "the projector is the one beside the model; to run another, declare the model in models.json",
};

function serverArgsProblemText(problem: ServerArgsProblem): string {
  switch (problem.code) {
    case "not-a-list":
      return "must be a list of strings";
    case "not-a-string":
      return `item ${problem.index} is not a string`;
    case "control-character":
      return `item ${problem.index} holds a control character`;
    case "reserved-flag":
      return `item ${problem.index} sets ${problem.flag}, which pi sets itself (${RESERVED_WHY[problem.reservedFor]}); remove it`;
    case "bad-context":
      return `item ${problem.index}: the context size (-c) must be a whole number`;
  }
}

const FILE_KINDS: Record<string, string> = {
  fifo: "a named pipe (FIFO)",
  socket: "a socket",
  "character-device": "a character device",
  "block-device": "a block device",
  directory: "a folder",
  other: "not a regular file",
};

const DOWNLOAD_AGAIN = "an interrupted download? Download it again";

/** Why a file found in a model folder is not offered as a model. */
export function skipReasonText(reason: SkipReason, home: string): string {
  const short = (path: string) => homeShort(path, home);
  switch (reason.code) {
    case "later-shard":
      return `part of the split model ${short(reason.firstShard)} (offered once, by its first file)`;
    case "missing-shards":
      return `a split model of ${reason.total} files; file${reason.missing.length === 1 ? "" : "s"} ${reason.missing.join(", ")} ${reason.missing.length === 1 ? "is" : "are"} missing: finish the download`;
    case "split-mismatch":
      return `its name says ${plural(reason.nameSays, "file")}, its header ${reason.fileSays === undefined ? "says it is no split" : `says ${reason.fileSays}`}: download it again`;
    case "projector":
      return `an image projector, given to ${short(reason.model)} (--mmproj)`;
    case "projector-without-model":
      return "an image projector with no model of its own in this folder: put it beside the model it was made for";
    case "vocab-only":
      return "a vocabulary only, no model";
    case "not-a-model":
      return `not a model (its header says general.type "${reason.type}": an adapter or another kind of GGUF file)`;
    case "no-architecture":
      return "its header names no architecture, so llama-server could not load it";
    case "not-executable":
      return "a llamafile without the execute bit: chmod +x it, then /llamafiles scan";
    case "empty":
      return "an empty file";
    case "not-gguf":
      return 'not a GGUF file (it does not begin with "GGUF")';
    case "unsupported-version":
      return `GGUF version ${reason.version}, which pi does not read (versions 2 and 3)`;
    case "truncated-header":
      return `cut off inside its header (the file has ${sizeText(reason.fileBytes)}): ${DOWNLOAD_AGAIN}`;
    case "absurd-size":
      return `its header claims a ${reason.what} of ${reason.claimed.toLocaleString("en-US")}, more than the file holds: damaged, or not a model`;
    case "header-limit":
      return `its header is larger than pi reads (${reason.what} ${reason.value.toLocaleString("en-US")}, at most ${reason.limit.toLocaleString("en-US")})`;
    case "bad-value-type":
      return `its header holds a value of unknown type ${reason.type}: damaged, or a GGUF newer than pi reads`;
    case "bad-alignment":
      return `its header's alignment (${reason.value}) is not a power of two: damaged`;
    case "incomplete-data":
      return `shorter than its tensors need (it has ${sizeText(reason.fileBytes)}): ${DOWNLOAD_AGAIN}`;
    case "read-failed":
    case "unreadable":
      return `cannot be read (${reason.errno}${reason.errno === "EACCES" ? ": check its permissions" : ""})`;
    case "changed-while-reading":
      return "changed while pi read it (still being written?); /llamafiles scan reads it again";
    case "no-embedded-gguf":
      return "a llamafile with no GGUF model stored in it";
    case "bad-zip":
      return `a llamafile whose zip directory is damaged (${reason.why})`;
    case "folder-unreadable":
      return `a folder that cannot be read (${reason.errno})`;
    case "not-a-folder":
      return 'not a folder (check "modelDirs")';
    case "not-regular-file":
      return `${FILE_KINDS[reason.kind] ?? "not a regular file"}, never opened`;
    case "broken-link":
      return "a symbolic link to nothing";
    case "symlink-loop":
      return "a loop of symbolic links";
    case "duplicate":
      return `the same file as ${short(reason.of)} (a link), offered once`;
    case "folder-seen":
      return `the same folder as ${short(reason.as)}, searched once`;
    case "too-deep":
      return `more than ${reason.limit} folders deep: not searched`;
    case "entry-limit":
      return `past the first ${reason.limit.toLocaleString("en-US")} entries: not searched (point "modelDirs" at the folders that hold models)`;
    case "no-llama-server":
      return "a GGUF model, and no llama-server to run it";
    case "no-port":
      return `no free port left in ${rangeText(reason.range)}`;
    case "configured":
      return `${MODELS_JSON} declares "${reason.by}" with ${reason.why === "same-id" ? "this id" : "this file"}; that one is offered`;
  }
}

/** What went wrong with discovery as a whole, and what to do. */
export function discoveryProblemText(problem: DiscoveryProblem, home: string): string {
  switch (problem.code) {
    case "llama-server-not-found":
      return problem.name === "llama-server"
        ? `llama-server is not on PATH, so GGUF models cannot run: install llama.cpp, or set "llamaServer" to its path in ${MODELS_JSON}`
        : `"llamaServer" ("${problem.name}") is not on PATH: set it to the full path of llama-server in ${MODELS_JSON}`;
    case "llama-server-unusable": {
      const why =
        problem.errno === "not-absolute"
          ? "a path must be absolute"
          : problem.errno === "EACCES"
            ? "it is not executable: chmod +x it"
            : problem.errno === "ENOENT"
              ? "no such file"
              : problem.errno === "EISDIR"
                ? "it is a folder"
                : problem.errno;
      return `"llamaServer" ${homeShort(problem.path, home)} cannot be run (${why}); fix it in ${MODELS_JSON}`;
    }
    case "bad-server-args":
      return problem.model === undefined
        ? `"serverArgs" in ${MODELS_JSON} ${serverArgsProblemText(problem.problem)}; the discovered models run without them until it is fixed`
        : `"serverArgs" of "${problem.model}" (under "discovered") in ${MODELS_JSON} ${serverArgsProblemText(problem.problem)}; that model runs without them until it is fixed`;
    case "port-refused": {
      const why =
        problem.why === "declared"
          ? "a model declared in models.json has it"
          : problem.why === "blocked"
            ? "fetch refuses to connect to it"
            : "another discovered model has it";
      return `"port" ${problem.port} of "${problem.model}" (under "discovered") in ${MODELS_JSON} cannot be used (${why}); it got a port of ${rangeText(problem.range)} instead`;
    }
    case "cache-unreadable":
      return `cannot read the discovery cache ${homeShort(problem.path, home)} (${problem.errno}); every model file is read again`;
    case "cache-ignored":
      return `ignored the discovery cache ${homeShort(problem.path, home)} (${problem.why}); it is written anew`;
    case "cache-unwritable":
      return `cannot write the discovery cache ${homeShort(problem.path, home)} (${problem.errno}); every start reads each model file again`;
    case "discovery-failed":
      return `discovery failed (${problem.detail.split("\n")[0]}); no model was discovered. Please report this`;
  }
}

const folderList = (folders: string[], home: string) => folders.map((folder) => homeShort(folder, home)).join(", ");

/**
 * The one start-up line of discovery (never one per file): what it found where, how many files
 * it skipped, and what went wrong as a whole. Nothing when there was nothing to look at.
 */
export function discoverySummary(outcome: DiscoveryOutcome, home: string): { text: string; level: "info" | "warning" } | undefined {
  const skipped = noteworthySkips(outcome.skipped).length;
  if (outcome.models.length === 0 && skipped === 0 && outcome.problems.length === 0) return undefined;
  const where = outcome.scanned.length > 0 ? ` in ${folderList(outcome.scanned, home)}` : "";
  const skips = skipped > 0 ? `; skipped ${plural(skipped, "file")} (see /llamafiles)` : "";
  const problems = outcome.problems.map((problem) => ` ${discoveryProblemText(problem, home)}.`).join("");
  return {
    text: `llamafiles: found ${plural(outcome.models.length, "model")}${where}${skips}.${problems}`,
    level: skipped > 0 || outcome.problems.length > 0 ? "warning" : "info",
  };
}

/** At most this many skipped files are listed; the rest are counted. */
const LISTED = 50;

function fileLines(files: SkippedFile[], home: string): string[] {
  const lines = files.slice(0, LISTED).map((file) => `  ${homeShort(file.path, home)}: ${skipReasonText(file.reason, home)}`);
  if (files.length > LISTED) lines.push(`  … and ${files.length - LISTED} more`);
  return lines;
}

/**
 * What `/llamafiles` says of discovery: the models found that do not run, the folders, every
 * skipped file and why. Nothing when it found nothing to say anything about and models are
 * declared (a user of models.json alone); with no local model at all, where it looked.
 */
export function discoveryReportLines(
  discovery: { outcome: DiscoveryOutcome; defaultFolders: string[]; declared: number } | "off",
  running: ReadonlySet<string>,
  home: string,
): string[] {
  if (discovery === "off") return [`Discovery is off ("discover": false in ${MODELS_JSON}).`];
  const { outcome } = discovery;
  const nothing = outcome.models.length === 0 && outcome.skipped.length === 0 && outcome.problems.length === 0;
  if (nothing && outcome.scanned.length === 0 && discovery.declared > 0) return [];
  const idle = outcome.models.filter((model) => !running.has(model.id));
  const lines: string[] = [];
  if (outcome.models.length === 0)
    lines.push(
      outcome.scanned.length > 0
        ? `No model discovered in ${folderList(outcome.scanned, home)}.`
        : `No model discovered: ${folderList(discovery.defaultFolders, home)} do not exist. Put GGUF files in ~/models, or set "modelDirs" in ${MODELS_JSON}.`,
    );
  else {
    if (idle.length > 0) lines.push(`Discovered, not running (${idle.length}):`);
    for (const model of idle) {
      const trained = model.discovered?.trainedContext;
      const context = `context ${model.contextWindow.toLocaleString("en-US")}${trained !== undefined && trained !== model.contextWindow ? ` of ${trained.toLocaleString("en-US")} trained` : ""}`;
      const estimate = model.memoryBytes === undefined ? "" : `, estimate ${memoryText(model.memoryBytes)}`;
      lines.push(`  ${model.name} (id=${model.id}, port=${model.port}, ${context}${estimate})`);
    }
    lines.push(`Model folders: ${folderList(outcome.scanned, home)}`);
  }
  for (const problem of outcome.problems) lines.push(`${discoveryProblemText(problem, home)}.`);
  const noteworthy = noteworthySkips(outcome.skipped);
  const expected = outcome.skipped.filter((file) => !noteworthy.includes(file));
  if (noteworthy.length > 0) lines.push(`Skipped (${noteworthy.length}):`, ...fileLines(noteworthy, home));
  if (expected.length > 0) lines.push(`Not offered as models (${expected.length}):`, ...fileLines(expected, home));
  return lines;
}

export const llamafilesCommandText = {
  usage: "Usage: /llamafiles (what runs, what was discovered), or /llamafiles scan (look in the model folders again).",
  noScan: `Nothing to scan: discovery is off ("discover": false), or providers.llamafiles in ${MODELS_JSON} cannot be used; /llamafiles says which.`,
};

/** `/llamafiles scan`: what changed in pi's model list. */
export function rescanText(before: string[], after: string[]): string {
  const added = after.filter((id) => !before.includes(id));
  const gone = before.filter((id) => !after.includes(id));
  const changes = [...(added.length > 0 ? [`new: ${added.join(", ")}`] : []), ...(gone.length > 0 ? [`gone: ${gone.join(", ")}`] : [])];
  return `Scanned the model folders again: ${plural(after.length, "discovered model")}${changes.length > 0 ? ` (${changes.join("; ")})` : ", none new, none gone"}.`;
}

/**
 * A running server's memory: the estimate (discovery's, or the user's "memory") beside what its
 * processes hold now, so the user sees how good the estimate is; nothing without an estimate.
 */
export function memoryLine(
  model: WarmSpec & { discovered?: { estimate: MemoryEstimate } },
  residentBytes: number | undefined,
): string | undefined {
  if (residentBytes === undefined) return undefined;
  const resident = `resident now ${memoryText(residentBytes)} (its processes, from /proc)`;
  const estimate = model.discovered?.estimate;
  if (estimate) {
    const kv = estimate.kvCacheBytes === undefined ? "" : ` + KV cache ${memoryText(estimate.kvCacheBytes)}`;
    return `  memory: estimated ${memoryText(estimate.totalBytes)} (files ${memoryText(estimate.weightBytes)}${kv} + margin ${memoryText(estimate.marginBytes)}), ${resident}`;
  }
  // A declared model without "memory" has no estimate to compare with.
  return model.memoryBytes !== undefined ? `  memory: your estimate ${memoryText(model.memoryBytes)}, ${resident}` : undefined;
}

/** How a local model's context is changed: in its "args", or for a discovered one in its "serverArgs". */
export function localContextFixFor(isDiscovered: (modelId: string) => boolean): ContextFix {
  return {
    setContext: (tokens, modelId) =>
      isDiscovered(modelId)
        ? `add "-c", "${tokens}" to "serverArgs" of "${modelId}" under "discovered" in models.json`
        : localContextFix.setContext(tokens, modelId),
    declaredIn: localContextFix.declaredIn,
  };
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
