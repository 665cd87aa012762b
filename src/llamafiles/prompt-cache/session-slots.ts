/**
 * Which slot of a model's server holds this pi's conversation. Each pi process using the server
 * claims one slot of its own (`<cache dir>/slot-<k>.claim`: created with O_EXCL, 0600, naming
 * the pi by pid and start time), so several pi sessions on one server never share a slot and
 * never save or restore each other's conversation. A claim whose pi is gone is taken over.
 *
 * The claim of the server on each port is also kept in memory, on `globalThis` (a /reload
 * re-evaluates the modules while this pi keeps using the server): the requests pi sends pin
 * their slot with `id_slot` (src/llamafiles/prompt-cache/pin-slot.ts) and mark the slot as
 * holding a conversation not yet saved.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { onAnswerEnd } from "../../llama-cpp/answer-end.ts";
import type { Conversation } from "../../pi-session/session-ui.ts";
import { myIdentity } from "../process/ownership-record.ts";
import { processStartTime } from "../process/process-proof.ts";

export type { Conversation };

interface ClaimFile {
  pid: number;
  startTime: string;
  canSave: boolean;
}

const claimPath = (dir: string, slot: number) => join(dir, `slot-${slot}.claim`);

function readClaim(path: string): ClaimFile | undefined {
  try {
    const stat = lstatSync(path);
    if (!stat.isFile() || stat.size > 4096 || (process.getuid && stat.uid !== process.getuid())) return undefined;
    const claim = JSON.parse(readFileSync(path, "utf8")) as Partial<ClaimFile>;
    return Number.isSafeInteger(claim.pid) && typeof claim.startTime === "string" && typeof claim.canSave === "boolean"
      ? (claim as ClaimFile)
      : undefined;
  } catch {
    return undefined;
  }
}

const isMine = (claim: ClaimFile | undefined) => {
  const me = myIdentity();
  return claim?.pid === me.pid && claim.startTime === me.startTime;
};
const holderLives = (claim: ClaimFile) => processStartTime(claim.pid) === claim.startTime;

function writeClaim(path: string, canSave: boolean, exclusive: boolean): boolean {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : constants.O_TRUNC);
  let fd: number;
  try {
    fd = openSync(path, flags, 0o600);
  } catch {
    return false;
  }
  try {
    writeSync(fd, JSON.stringify({ ...myIdentity(), canSave } satisfies ClaimFile));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The slot this pi process holds in `dir`, with what it learned of the server, if any. */
export function heldSlot(dir: string): { slot: number; canSave: boolean } | undefined {
  for (const name of safeList(dir)) {
    const match = /^slot-(\d+)\.claim$/.exec(name);
    if (!match) continue;
    const claim = readClaim(join(dir, name));
    if (claim && isMine(claim)) return { slot: Number(match[1]), canSave: claim.canSave };
  }
  return undefined;
}

/** Claims a slot of `slots` for this pi process (its own claim first), or undefined when other live pi sessions hold them all. */
export function claimSlot(dir: string, slots: number, canSave: boolean): number | undefined {
  const held = heldSlot(dir);
  if (held && held.slot < slots) {
    writeClaim(claimPath(dir, held.slot), canSave, false);
    return held.slot;
  }
  if (held) rmSync(claimPath(dir, held.slot), { force: true });
  for (let slot = 0; slot < slots; slot++) {
    const path = claimPath(dir, slot);
    if (writeClaim(path, canSave, true)) return slot;
    const claim = readClaim(path);
    if (claim && holderLives(claim)) continue;
    // Its pi is gone (or the file is not a claim): take the slot over.
    rmSync(path, { force: true });
    if (writeClaim(path, canSave, true)) return slot;
  }
  return undefined;
}

/** Lets go of this pi process's slot in `dir`. */
export function releaseSlot(dir: string): void {
  const held = heldSlot(dir);
  if (held) rmSync(claimPath(dir, held.slot), { force: true });
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What pi knows of the server on one port: the slot its requests pin, and what is not saved yet. */
interface PortUse {
  slot: number | undefined;
  /** The session whose requests changed the slot since the last save or restore. */
  unsaved: Conversation | undefined;
  /** Requests this pi process sent (the idle watch counts them where the server has no /slots). */
  sent: number;
  /** Answers of this pi process still under way: a server answering is in use, however long the answer. */
  answering: number;
  /** The task id the slot showed after this pi's last answer: another id at save time means another client used the slot. */
  lastTask: number | undefined;
}

const KEY = Symbol.for("pi-llama-supervisor.session-slots");

function ports(): Map<number, PortUse> {
  const holder = globalThis as unknown as Record<symbol, Map<number, PortUse> | undefined>;
  holder[KEY] ??= new Map();
  return holder[KEY];
}

const use = (port: number) => {
  const known = ports().get(port);
  if (known) return known;
  const fresh: PortUse = { slot: undefined, unsaved: undefined, sent: 0, answering: 0, lastTask: undefined };
  ports().set(port, fresh);
  return fresh;
};

/** Requests to `port` pin `slot` from now on (undefined: they go wherever the server puts them). */
export function pinSlot(port: number, slot: number | undefined): void {
  const entry = use(port);
  entry.slot = slot;
  entry.unsaved = undefined;
  entry.lastTask = undefined;
}

export function pinnedSlot(port: number): number | undefined {
  return ports().get(port)?.slot;
}

/** A request of `session` is about to go to `port`. */
export function noteRequest(port: number, session: Conversation | undefined): void {
  const entry = use(port);
  entry.sent++;
  if (entry.slot !== undefined) entry.unsaved = session;
}

/** After this pi's answer in `slot`: the task id the slot shows now is this pi's. */
export function noteAnswered(port: number, slot: number, task: number | undefined): void {
  const entry = ports().get(port);
  if (entry?.slot === slot) entry.lastTask = task;
}

/** The task id the slot showed after this pi's last answer, if known. */
export function lastAnsweredTask(port: number): number | undefined {
  return ports().get(port)?.lastTask;
}

export function requestsSent(port: number): number {
  return ports().get(port)?.sent ?? 0;
}

/** How many of this pi's answers from `port` are still under way. */
export function answersUnderWay(port: number): number {
  return ports().get(port)?.answering ?? 0;
}

/**
 * Runs a request to `port` and counts its answer as under way until it has ended (llama-cpp's
 * onAnswerEnd), then runs `afterEnd`: the idle watch must not stop a server in the middle of an
 * answer on a server whose own counters (GET /slots) it cannot read.
 */
export async function whileAnswering(port: number, request: () => Promise<Response>, afterEnd?: () => void): Promise<Response> {
  const entry = use(port);
  entry.answering++;
  let response: Response;
  try {
    response = await request();
  } catch (error) {
    entry.answering--;
    throw error;
  }
  return onAnswerEnd(response, () => {
    entry.answering--;
    afterEnd?.();
  });
}

/** The session whose conversation the slot holds and was not saved, if any. */
export function unsavedConversation(port: number): Conversation | undefined {
  return ports().get(port)?.unsaved;
}

/** The conversation is on disk as the slot holds it (saved or just restored). */
export function markSaved(port: number): void {
  const entry = ports().get(port);
  if (entry) entry.unsaved = undefined;
}
