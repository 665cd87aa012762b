/**
 * The record of a server pi started on a port, in `~/.pi/llamafile_logs/owned/port-<port>.json`:
 * who claimed the port (to start a server there), the server (group leader pid, start time,
 * argv, environment marker) and its keeper (pid, start time, socket). Several pi processes on
 * one HOME read it to share a server instead of starting a second one.
 *
 * Creating the file is the claim: `O_EXCL`, so of two pi starting the same port at the same
 * moment exactly one starts a server and the other joins it. Nothing is trusted before it is
 * proven: the file must be a regular file of this user, 0600, in this user's 0700 folder, and
 * every process it names must still be that process (src/llamafiles/process/process-proof.ts).
 */
import { randomUUID } from "node:crypto";
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { privateDir, type UnsafeDir } from "../../util/private-file.ts";
import { ownedDir, ownershipRecordPath } from "./paths.ts";
import { disproveProcess, markedGroupMembers, processStartTime } from "./process-proof.ts";

export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

export interface OwnershipRecord {
  version: 2;
  port: number;
  modelId: string;
  name: string;
  /** The pi process that claimed the port. */
  claimedBy: ProcessIdentity;
  /** The server: its pid is also its process group (spawned as a group leader). */
  server?: ProcessIdentity & { argv: string[]; marker: string };
  keeper?: ProcessIdentity & { socket: string };
}

/** What the record says about the port now, once proven. */
export type RecordState =
  | { kind: "none" }
  /** Another pi (alive) claimed the port and is starting its server. */
  | { kind: "claiming"; record: OwnershipRecord }
  /** A keeper runs: the server can be joined through its socket. */
  | { kind: "kept"; record: OwnershipRecord & Required<Pick<OwnershipRecord, "server" | "keeper">> }
  /** The keeper is gone but the server's group lives on: left behind, nobody will stop it. */
  | { kind: "orphan"; record: OwnershipRecord & Required<Pick<OwnershipRecord, "server">> }
  /** Nothing it names runs any more (removed). */
  | { kind: "stale" }
  /** It names a process that is not what pi started, or the file is not safe: discarded, nothing signalled. */
  | { kind: "rejected"; path: string; reason: string };

const FLAGS_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export function myIdentity(): ProcessIdentity {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? "unknown" };
}

function writeNew(path: string, record: OwnershipRecord): void {
  const fd = openSync(path, FLAGS_CREATE, 0o600);
  try {
    writeSync(fd, JSON.stringify(record));
  } finally {
    closeSync(fd);
  }
}

/**
 * Claims `port` for a server this pi starts. Returns the marker its environment will carry,
 * or what stands in the way (a record someone else holds, a folder that is not safe).
 */
export function claimPort(
  port: number,
  model: { id: string; name: string },
): { claimed: true; marker: string } | { claimed: false; existing: RecordState } | { claimed: false; unsafe: UnsafeDir } {
  const unsafe = privateDir(ownedDir());
  if (unsafe) return { claimed: false, unsafe };
  const record: OwnershipRecord = { version: 2, port, modelId: model.id, name: model.name, claimedBy: myIdentity() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeNew(ownershipRecordPath(port), record);
      return { claimed: true, marker: randomUUID() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const existing = judgeRecord(port);
      // A stale record was removed while judging it: claim again.
      if (existing.kind !== "stale") return { claimed: false, existing };
    }
  }
  return { claimed: false, existing: judgeRecord(port) };
}

/** Fills in the server and its keeper once both run (atomically: a reader sees the old or the new record). */
export function completeRecord(record: OwnershipRecord): void {
  privateDir(ownedDir());
  const path = ownershipRecordPath(record.port);
  const temporary = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  writeNew(temporary, record);
  renameSync(temporary, path);
}

/** Removes the record of `port`, but only while it is still the one this pi claimed (a newer claim may have replaced it). */
export function releaseClaim(port: number): void {
  const record = readRecordFile(ownershipRecordPath(port));
  if (typeof record === "object" && record.claimedBy.pid === process.pid) rmSync(ownershipRecordPath(port), { force: true });
}

function readRecordFile(path: string): OwnershipRecord | "missing" | string {
  let text: string;
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return "it is a symbolic link";
    if (!stat.isFile()) return "it is not a regular file";
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) return "it belongs to another user";
    if ((stat.mode & 0o077) !== 0) return `its mode is ${(stat.mode & 0o777).toString(8)}, not 600`;
    text = readFileSync(path, "utf8");
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `it cannot be read (${(error as NodeJS.ErrnoException).code})`;
  }
  try {
    const record = JSON.parse(text) as OwnershipRecord;
    const identity = (value: unknown) => {
      const id = value as ProcessIdentity | undefined;
      return !!id && Number.isSafeInteger(id.pid) && id.pid > 1 && typeof id.startTime === "string";
    };
    if (record.version !== 2 || !Number.isInteger(record.port) || typeof record.modelId !== "string" || !identity(record.claimedBy)) {
      return "it is not a record this version of pi writes";
    }
    if (record.server && (!identity(record.server) || !Array.isArray(record.server.argv) || typeof record.server.marker !== "string")) {
      return "its server entry is incomplete";
    }
    if (record.keeper && (!identity(record.keeper) || typeof record.keeper.socket !== "string")) return "its keeper entry is incomplete";
    return record;
  } catch {
    return "it is not JSON";
  }
}

/**
 * What the record of `port` proves. A record naming a process that is not what pi started (or
 * an unsafe file) is removed and reported as `rejected`; nothing it names is ever signalled.
 */
export function judgeRecord(port: number): RecordState {
  const path = ownershipRecordPath(port);
  const record = readRecordFile(path);
  if (record === "missing") return { kind: "none" };
  const reject = (reason: string): RecordState => {
    rmSync(path, { force: true });
    return { kind: "rejected", path, reason };
  };
  if (typeof record === "string") return reject(record);
  if (record.port !== port) return reject(`it is about port ${record.port}`);

  const { server, keeper } = record;
  if (!server) {
    // Only a claim: the claiming pi is starting its server right now, unless it died meanwhile.
    if (disproveProcess(record.claimedBy) === undefined) return { kind: "claiming", record };
    rmSync(path, { force: true });
    return { kind: "stale" };
  }
  const { marker } = server;
  if (!marker.endsWith(`:${port}:${record.modelId}`)) return reject("its marker is for another port or model");
  const keeperProblem = keeper ? disproveProcess(keeper) : "gone";
  const serverProblem = disproveProcess(server);
  // Same start time, yet no marker: a record naming someone else's process.
  if (serverProblem === "marker missing") {
    return reject(`pid ${server.pid} is not the server pi started (${serverProblem})`);
  }
  // The leader gone (or its pid reused) while the group may live on: a wrapper whose leader exited first.
  const groupAlive = serverProblem === undefined || markedGroupMembers(server.pid, marker).length > 0;
  if (!groupAlive) {
    rmSync(path, { force: true });
    return { kind: "stale" };
  }
  if (keeper && keeperProblem === undefined) return { kind: "kept", record: { ...record, server, keeper } };
  return { kind: "orphan", record: { ...record, server } };
}

/**
 * Takes a record over to act on it (stop a server left behind): the file is renamed away, so
 * of several pi finding the same orphan at once exactly one stops it. Returns a function that
 * drops the taken record once done, or undefined when another pi took it first.
 */
export function takeOverRecord(port: number): (() => void) | undefined {
  const path = ownershipRecordPath(port);
  const taken = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.taken`;
  try {
    renameSync(path, taken);
  } catch {
    return undefined;
  }
  return () => rmSync(taken, { force: true });
}

/** Every port that has a record. */
export function recordedPorts(): number[] {
  try {
    return readdirSync(ownedDir())
      .map((name) => /^port-(\d+)\.json$/.exec(name)?.[1])
      .filter((port): port is string => port !== undefined)
      .map(Number);
  } catch {
    return [];
  }
}
