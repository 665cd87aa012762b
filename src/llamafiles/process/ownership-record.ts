/**
 * What pi started, written where the next extension instance (after /reload, /new,
 * /resume, /fork, or a pi that died without cleaning up) can verify it: pid, port, model
 * id and the process start time, so a reused pid is never mistaken for our server.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ownershipRecordPath } from "./paths.ts";
import { processStartTime } from "./start-time.ts";

export interface OwnershipRecord {
  pid: number;
  port: number;
  modelId: string;
  startTime: string;
}

export function recordOwnership(pid: number, port: number, modelId: string): void {
  const startTime = processStartTime(pid);
  if (startTime === undefined) return;
  const path = ownershipRecordPath(port);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const record: OwnershipRecord = { pid, port, modelId, startTime };
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
  renameSync(temp, path);
}

/** The record for `port` if its process is still the one pi started; stale records are removed. */
export function findOwnedServer(port: number): OwnershipRecord | undefined {
  const path = ownershipRecordPath(port);
  let record: OwnershipRecord;
  try {
    record = JSON.parse(readFileSync(path, "utf8")) as OwnershipRecord;
  } catch {
    return undefined;
  }
  const valid =
    Number.isInteger(record.pid) &&
    record.port === port &&
    typeof record.modelId === "string" &&
    processStartTime(record.pid) === record.startTime;
  if (!valid) {
    forgetOwnership(port, record.pid);
    return undefined;
  }
  return record;
}

/** Remove the record, but only if it still describes `pid` (a newer start may have replaced it). */
export function forgetOwnership(port: number, pid: number): void {
  const path = ownershipRecordPath(port);
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as OwnershipRecord;
    if (record.pid !== pid) return;
  } catch {
    // unreadable: remove it
  }
  rmSync(path, { force: true });
}
