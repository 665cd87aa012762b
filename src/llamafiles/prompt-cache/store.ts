/**
 * Saving and restoring this session's slot of a local server (the effects behind the
 * local-server chart's `restoring` and `saving` states, src/llamafiles/effects.ts). The chart
 * decides when and how long; this does the file work:
 *
 *  - prepare (a server is ready): claim this pi's slot, learn whether the server can save
 *    (a probe that writes nothing), and restore this session's saved conversation into the slot
 *    when its record says it was saved from the same model file and slot layout, with the tokens
 *    fitting a slot.
 *  - save (before pi stops the server on purpose): only when the slot changed since the last
 *    save or restore; to a new file name, checked (200 with `n_written` 0 is a full disk, D04;
 *    `n_saved` 0 an empty slot), then the record is replaced and the older file removed, so a
 *    failed save never destroys the good one; then the budget.
 */
import { lstatSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CacheReadiness, LaunchSpec, SaveOutcome, SlotCache } from "../../../machines/local-server.machine.ts";
import { cannotSaveStatus, layoutKey, restoreAnswer, saveAnswer, slotLayout } from "../../llama-cpp/slots.ts";
import { privateDir } from "../../util/private-file.ts";
import { launchLine } from "../process/launch-line.ts";
import { myIdentity } from "../process/ownership-record.ts";
import { promptCacheRoot, sessionKey } from "./paths.ts";
import { type CacheRecord, checkSlotFile, newSlotFileName, readRecord, recordName, writeRecord } from "./records.ts";
import { type Conversation, claimSlot, lastAnsweredTask, markSaved, pinSlot, releaseSlot, unsavedConversation } from "./session-slots.ts";
import { type ServingFacts, saveSupported, servingFacts, slotAction, slotTask } from "./slot-http.ts";
import { tidyCaches } from "./tidy.ts";

export interface CacheIo {
  /** The pi session now (restored into the slot). */
  conversation(): Conversation | undefined;
  /** One slot request (the probe, /props); a save or restore has the chart's bound instead. */
  requestMs: number;
  signal: AbortSignal;
}

/** The model file a server runs: its `-m`, a llamafile's own program, or what /props says. */
function modelFile(model: LaunchSpec, args: string[], facts: ServingFacts): CacheRecord["model"] {
  let path: string | undefined;
  for (let i = 0; i < args.length && !path; i++) {
    const arg = args[i]!;
    if ((arg === "-m" || arg === "--model") && args[i + 1]) path = resolve(model.cwd, args[i + 1]!);
    else if (arg.startsWith("--model=")) path = resolve(model.cwd, arg.slice("--model=".length));
  }
  path ??= model.promptCache?.via === "placeholder" && model.command.includes("/") ? resolve(model.cwd, model.command) : facts.modelPath;
  path ??= model.command;
  try {
    const stat = lstatSync(path);
    return stat.isFile() ? { path, size: stat.size, mtimeMs: Math.round(stat.mtimeMs) } : { path };
  } catch {
    return { path };
  }
}

const sameModel = (a: CacheRecord["model"], b: CacheRecord["model"]) => a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs;

/** What a saved file must match: the model file, the layout, the context of a slot. */
function servedAs(model: LaunchSpec, facts: ServingFacts): Pick<CacheRecord, "model" | "layout" | "contextPerSlot"> {
  const line = launchLine(model);
  return {
    model: modelFile(model, line.args, facts),
    layout: layoutKey(slotLayout(line.args, { ...process.env, ...line.env }), facts.slots),
    contextPerSlot: facts.contextPerSlot,
  };
}

export async function prepareCache(model: LaunchSpec, io: CacheIo): Promise<CacheReadiness> {
  const spec = model.promptCache!;
  const unsafe = privateDir(promptCacheRoot()) ?? privateDir(spec.dir);
  if (unsafe) return { cache: undefined, problem: { kind: "unsafe-folder", path: unsafe.path } };
  tidyCaches(spec.budgetBytes);
  const options = { timeoutMs: io.requestMs, signal: io.signal };
  const facts = await servingFacts(model.port, options);
  const status = await saveSupported(model.port, options);
  const canSave = !cannotSaveStatus(status);
  const slots = facts.slots ?? 1;
  const slot = claimSlot(spec.dir, slots, canSave);
  if (slot === undefined) {
    pinSlot(model.port, undefined);
    return { cache: undefined, problem: { kind: "no-free-slot", slots } };
  }
  pinSlot(model.port, slot);
  const cache: SlotCache = { slot, canSave };
  if (!canSave) return { cache, problem: { kind: "cannot-save", status } };
  const conversation = io.conversation();
  if (!conversation) return { cache };
  const key = sessionKey(conversation.id);
  const record = readRecord(join(spec.dir, recordName(key)));
  if (typeof record !== "object" || record.session.id !== conversation.id) return { cache };
  const now = servedAs(model, facts);
  // Another model (or the same path holding another file), another layout, or more tokens than a slot holds: never restored.
  const fits = now.contextPerSlot === undefined || record.tokens <= now.contextPerSlot;
  if (!sameModel(record.model, now.model) || record.layout !== now.layout || !fits) return { cache };
  const fileProblem = checkSlotFile(join(spec.dir, record.file), { bytes: record.bytes, tokens: record.tokens });
  if (fileProblem) return { cache, problem: { kind: "restore-failed", detail: `${record.file}: ${fileProblem}` } };
  const answer = await slotAction(model.port, slot, "restore", record.file, { timeoutMs: 24 * 3_600_000, signal: io.signal });
  const restored = answer.status === 200 ? restoreAnswer(answer.json) : undefined;
  if (!restored || restored.restored !== record.tokens) {
    const said = (answer.json as { error?: { message?: unknown } } | undefined)?.error?.message;
    return {
      cache,
      problem: { kind: "restore-failed", detail: `HTTP ${answer.status}${typeof said === "string" ? `: ${said.slice(0, 200)}` : ""}` },
    };
  }
  markSaved(model.port);
  writeRecord(spec.dir, key, { ...record, usedAt: Date.now() });
  return { cache, restored: { tokens: restored.restored } };
}

export async function saveCache(model: LaunchSpec, cache: SlotCache, io: CacheIo): Promise<SaveOutcome> {
  const spec = model.promptCache!;
  const conversation = unsavedConversation(model.port);
  if (!conversation) return { kind: "unchanged" };
  const key = sessionKey(conversation.id);
  const name = newSlotFileName(key);
  const path = join(spec.dir, name);
  const drop = () => rmSync(path, { force: true });
  io.signal.addEventListener("abort", drop, { once: true });
  const started = performance.now();
  try {
    const facts = await servingFacts(model.port, { timeoutMs: io.requestMs, signal: io.signal });
    // Another client's task ran in the slot since this pi's last answer: it is not this conversation any more.
    const ours = lastAnsweredTask(model.port);
    if (ours !== undefined && (await slotTask(model.port, cache.slot, { timeoutMs: io.requestMs, signal: io.signal })) !== ours)
      return { kind: "empty" };
    const answer = await slotAction(model.port, cache.slot, "save", name, { timeoutMs: 24 * 3_600_000, signal: io.signal });
    const ms = Math.round(performance.now() - started);
    if (cannotSaveStatus(answer.status)) return { kind: "failed", reason: "cannot-save", detail: `HTTP ${answer.status}` };
    const saved = answer.status === 200 ? saveAnswer(answer.json) : undefined;
    if (!saved) {
      drop();
      return { kind: "failed", reason: "bad-answer", detail: `HTTP ${answer.status}` };
    }
    if (saved.written === 0) {
      drop();
      return { kind: "failed", reason: "disk-full", detail: `${saved.saved} tokens, 0 bytes written` };
    }
    if (saved.saved === 0) {
      // An empty slot (the server dropped it): the older file stays the conversation.
      drop();
      return { kind: "empty" };
    }
    const problem = checkSlotFile(path, { bytes: saved.written, tokens: saved.saved });
    if (problem) {
      drop();
      return { kind: "failed", reason: "bad-file", detail: problem };
    }
    const previous = readRecord(join(spec.dir, recordName(key)));
    const at = Date.now();
    writeRecord(spec.dir, key, {
      version: 1,
      modelId: model.id,
      session: conversation.file ? { id: conversation.id, file: conversation.file } : { id: conversation.id },
      savedBy: myIdentity(),
      file: name,
      bytes: saved.written,
      tokens: saved.saved,
      ...servedAs(model, facts),
      savedAt: at,
      usedAt: at,
      saveMs: ms,
    });
    if (typeof previous === "object" && previous.file !== name) rmSync(join(spec.dir, previous.file), { force: true });
    markSaved(model.port);
    const kept = tidyCaches(spec.budgetBytes);
    if (!kept.some((entry) => entry.dir === spec.dir && entry.record.file === name))
      return { kind: "failed", reason: "over-budget", detail: `${saved.written} bytes` };
    return { kind: "saved", tokens: saved.saved, bytes: saved.written, ms };
  } finally {
    io.signal.removeEventListener("abort", drop);
  }
}

/** This pi process leaves the server: its slot is free for another pi session. */
export function leaveCache(model: LaunchSpec): void {
  if (!model.promptCache) return;
  pinSlot(model.port, undefined);
  releaseSlot(model.promptCache.dir);
}
