/**
 * This session's slots on the router, for a model whose preset gives the router's workers
 * `--slot-save-path` (GET /models shows it in the model's `status.args`, even unloaded: D09).
 * The router chart decides when (before an unload or a switch this pi does, after a load this pi
 * did); this does the HTTP and keeps the index:
 *
 *  - the slot: one per session and model, `hash(session) mod slots`, which this pi's requests
 *    pin with `id_slot`. pi cannot know the other clients of a router: when one used the slot
 *    after this session's last answer, the save holds that client's tokens under this session's
 *    file name, and the restore later primes the slot with them. That costs speed only (the
 *    server reuses a cached prefix only where it matches the prompt token for token, so an
 *    answer never sees another conversation); the local side can tell by task ids, a router's
 *    worker behind the proxy not reliably;
 *  - the files, on the router host: `pi-<session>-<model hash>-a.bin` and `-b.bin`, taken in
 *    turn (the router has no delete or rename: a failed save never overwrites the good one);
 *  - the index, here: `~/.pi/llamafile_cache/routers/<router hash>.json` (0600, never through a
 *    symlink, checked field by field when read): which file holds which session's conversation,
 *    of how many tokens, saved with which worker arguments (another model file, context or slot
 *    layout is never restored into: the server would take it and answer garbage, D05).
 */
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { RouterRestoreOutcome, RouterSaveOutcome } from "../../machines/router-model.machine.ts";
import type { ServerProps } from "../../machines/server-props.ts";
import { cannotSaveStatus, isSlotFileName, restoreAnswer, saveAnswer, withSlot } from "../llama-cpp/slots.ts";
import type { Conversation } from "../pi-session/session-ui.ts";
import { privateDir, readPrivateFile, writePrivateFile } from "../util/private-file.ts";
import type { RouterApi, RouterModel } from "./router-api.ts";

interface IndexEntry {
  session: { id: string; file?: string };
  savedBy: { pid: number };
  modelId: string;
  file: string;
  tokens: number;
  bytes: number;
  /** The worker's arguments when it was saved, its port and host left out (they change with every load). */
  args: string[];
  savedAt: number;
}

/** Whether the router lets clients save this model's slots. */
export const routerSaves = (model: RouterModel | undefined) => (model?.status?.args ?? []).includes("--slot-save-path");

/** The worker's arguments that decide which files it can take: all but its port and host. */
function argsKey(model: RouterModel | undefined): string[] {
  const args = model?.status?.args ?? [];
  return args.filter((arg, i) => !["--port", "--host"].includes(arg) && !["--port", "--host"].includes(args[i - 1] ?? ""));
}

const hash = (text: string, length: number) => createHash("sha256").update(text).digest("hex").slice(0, length);
const sameArgs = (a: string[], b: string[]) => a.length === b.length && a.every((arg, i) => arg === b[i]);

const MAX_INDEX_BYTES = 1024 * 1024;

function parseIndex(text: string): IndexEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  const entries = (raw as { version?: unknown; entries?: unknown })?.entries;
  if ((raw as { version?: unknown })?.version !== 1 || !Array.isArray(entries)) return [];
  const text255 = (value: unknown) => typeof value === "string" && value.length > 0 && value.length <= 4096;
  const count = (value: unknown) => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  return entries.filter((entry: Partial<IndexEntry>) => {
    return (
      !!entry &&
      text255(entry.session?.id) &&
      (entry.session?.file === undefined || text255(entry.session.file)) &&
      count(entry.savedBy?.pid) &&
      text255(entry.modelId) &&
      typeof entry.file === "string" &&
      isSlotFileName(entry.file) &&
      count(entry.tokens) &&
      count(entry.bytes) &&
      Array.isArray(entry.args) &&
      entry.args.every((arg) => typeof arg === "string") &&
      count(entry.savedAt)
    );
  }) as IndexEntry[];
}

/** A router's index file (src/util/private-file.ts: never through a symlink, only this user's regular file of a sane size). */
function readIndex(path: string): IndexEntry[] {
  const read = readPrivateFile(path, MAX_INDEX_BYTES);
  return read.ok ? parseIndex(read.text) : [];
}

function writeIndex(path: string, url: string, entries: IndexEntry[]): void {
  const errno = writePrivateFile(path, JSON.stringify({ version: 1, url, entries }));
  if (errno) throw new Error(`cannot write ${path} (${errno})`);
}

/** An entry of a session that is gone: an in-memory one whose pi ended, or one whose session file is gone (and its pi too). */
function sessionGone(entry: IndexEntry): boolean {
  try {
    process.kill(entry.savedBy.pid, 0);
    return false;
  } catch {
    // its pi is gone
  }
  if (entry.session.file === undefined) return true;
  try {
    lstatSync(entry.session.file);
    return false;
  } catch {
    return true;
  }
}

export interface RouterSlotCache {
  /** A loaded model: when the router keeps its slots, this session's requests to it pin its slot from now on. */
  follow(model: RouterModel | undefined, props: ServerProps): void;
  /** The request body to send to `modelId` (this session's slot pinned), noting the slot changed. */
  pinned(modelId: string, body: string): string;
  save(modelId: string, signal: AbortSignal): Promise<RouterSaveOutcome>;
  restore(modelId: string, signal: AbortSignal): Promise<RouterRestoreOutcome>;
}

export function routerSlotCache(options: {
  url: string;
  api: RouterApi;
  conversation(): Conversation | undefined;
  /** The folder of the routers' indexes (tests give their own). */
  dir?: string;
}): RouterSlotCache {
  const dir = () => options.dir ?? join(process.env.HOME || homedir(), ".pi", "llamafile_cache", "routers");
  const indexPath = () => join(dir(), `${hash(options.url, 16)}.json`);
  const followed = new Map<string, { slot: number; args: string[]; unsaved: Conversation | undefined }>();

  const entriesNow = () => readIndex(indexPath()).filter((entry) => !sessionGone(entry));
  const key = (conversation: Conversation) => (/^[A-Za-z0-9_-]{1,80}$/.test(conversation.id) ? conversation.id : hash(conversation.id, 32));

  return {
    follow(model, props) {
      if (!model || !routerSaves(model)) return void (model && followed.delete(model.id));
      const conversation = options.conversation();
      if (!conversation) return;
      const known = followed.get(model.id);
      const slots = props.slots ?? 1;
      const slot = Number.parseInt(hash(conversation.id, 8), 16) % slots;
      followed.set(model.id, { slot, args: argsKey(model), unsaved: known?.slot === slot ? known.unsaved : undefined });
    },
    pinned(modelId, body) {
      const entry = followed.get(modelId);
      if (!entry) return body;
      const pinned = withSlot(body, entry.slot);
      if (pinned === undefined) return body;
      entry.unsaved = options.conversation();
      return pinned;
    },
    async save(modelId, signal) {
      const entry = followed.get(modelId);
      const conversation = entry?.unsaved;
      if (!entry || !conversation) return { kind: "unchanged" };
      const entries = entriesNow();
      const mine = entries.find((candidate) => candidate.session.id === conversation.id && candidate.modelId === modelId);
      const stem = `pi-${key(conversation)}-${hash(modelId, 8)}`;
      // The other of the two names: the good file is never the one written.
      const file = mine?.file === `${stem}-a.bin` ? `${stem}-b.bin` : `${stem}-a.bin`;
      const answer = await options.api.slotAction(modelId, entry.slot, "save", file, signal);
      if (cannotSaveStatus(answer.status)) return { kind: "failed", reason: "refused", detail: `HTTP ${answer.status}` };
      const saved = answer.status === 200 ? saveAnswer(answer.json) : undefined;
      if (!saved) return { kind: "failed", reason: "bad-answer", detail: `HTTP ${answer.status}` };
      if (saved.written === 0) return { kind: "failed", reason: "disk-full", detail: `${saved.saved} tokens, 0 bytes written` };
      if (saved.saved === 0) return { kind: "unchanged" };
      if (privateDir(dir())) return { kind: "failed", reason: "refused", detail: `${dir()} is not a folder of yours` };
      const record: IndexEntry = {
        session: conversation.file ? { id: conversation.id, file: conversation.file } : { id: conversation.id },
        savedBy: { pid: process.pid },
        modelId,
        file,
        tokens: saved.saved,
        bytes: saved.written,
        args: entry.args,
        savedAt: Date.now(),
      };
      writeIndex(indexPath(), options.url, [...entries.filter((candidate) => candidate !== mine), record]);
      entry.unsaved = undefined;
      return { kind: "saved", tokens: saved.saved, bytes: saved.written };
    },
    async restore(modelId, signal) {
      const entry = followed.get(modelId);
      const conversation = options.conversation();
      if (!entry || !conversation) return { kind: "none" };
      const mine = entriesNow().find((candidate) => candidate.session.id === conversation.id && candidate.modelId === modelId);
      // Saved from other worker arguments (another model file, context, layout): never restored.
      if (!mine || !sameArgs(mine.args, entry.args)) return { kind: "none" };
      const answer = await options.api.slotAction(modelId, entry.slot, "restore", mine.file, signal);
      const restored = answer.status === 200 ? restoreAnswer(answer.json) : undefined;
      if (!restored || restored.restored !== mine.tokens) {
        const said = (answer.json as { error?: { message?: unknown } } | undefined)?.error?.message;
        return { kind: "failed", detail: `HTTP ${answer.status}${typeof said === "string" ? `: ${said.slice(0, 200)}` : ""}` };
      }
      entry.unsaved = undefined;
      return { kind: "restored", tokens: restored.restored };
    },
  };
}
